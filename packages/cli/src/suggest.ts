/** "Did you mean …?" for a mistyped command or option. */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates close to `word` (a typo or two, a prefix of it, or a word it starts with: the seed's
 * `--extended_info` finds `--extended`), closest first, each shown after
 * `prefix`: `; did you mean "x" or "y"?`, or "" when none is close.
 */
export function didYouMean(word: string, candidates: Iterable<string>, prefix = ""): string {
  const w = word.toLowerCase();
  // Short words allow one edit: two would turn "ls" into anything.
  const allowed = w.length <= 4 ? 1 : 2;
  const close = [...new Set(candidates)]
    .map((c) => ({ c, d: editDistance(w, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= allowed || (w.length >= 2 && c.toLowerCase().startsWith(w)) || (c.length >= 5 && w.startsWith(c.toLowerCase())))
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ c }) => `"${prefix}${c}"`);
  return close.length === 0 ? "" : `; did you mean ${close.join(" or ")}?`;
}
