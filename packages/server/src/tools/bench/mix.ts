import { randomSource } from "../seed-data.js";

/**
 * The fixed query mix of the bench: `size` search strings drawn with a fixed seed from six kinds, in
 * fixed shares. Every run (and every peer) gets the same list in the same order.
 */
const MIX_KINDS = {
  /** 3+ characters found in many users. */
  common: ["mül", "son", "ski", "ann", "sch", "ing", "mar", "ber", "ez", "lle", "and", "ert"],
  /** 1 and 2 characters. */
  short: ["a", "e", "z", "q", "x", "er", "an", "qx", "zz", "1", "7", "-"],
  /** Parts of email addresses. */
  email: ["example.com", "corp.example.org", "@mail.", "ecm-security.test", ".net", "außendienst"],
  /** Non-ASCII letters and names. */
  nonAscii: ["müller", "ø", "ł", "ζωή", "ß", "ç", "иван", "øster", "łukasz", "ñ", "şahin", "dvořák"],
  /** Strings no user holds. */
  noMatch: ["zzqxj", "xyzzy", "qqq1", "§§", "пппп", "@nowhere.invalid", "%_%", "ÿÿ"],
} as const;

/** Rare strings: a name fragment with digits, matching a handful of numbered usernames and emails. */
const RARE_STEMS = ["müller", "smith", "kowalski", "øster", "garcía", "ζωγράφος", "lee", "yılmaz", "novák", "wang"];

const SHARES: [keyof typeof MIX_KINDS | "rare", number][] = [
  ["common", 0.25],
  ["rare", 0.25],
  ["short", 0.15],
  ["email", 0.1],
  ["nonAscii", 0.15],
  ["noMatch", 0.1],
];

export function queryMix(size: number, users: number, seed = 42): string[] {
  const random = randomSource(seed);
  const mix: string[] = [];
  for (const [kind, share] of SHARES) {
    const count = Math.round(size * share);
    for (let i = 0; i < count; i++) {
      if (kind === "rare") {
        const stem = RARE_STEMS[Math.floor(random() * RARE_STEMS.length)]!;
        mix.push(`${stem.slice(-3)}${1 + Math.floor(random() * users)}`);
      } else {
        const list = MIX_KINDS[kind];
        mix.push(list[Math.floor(random() * list.length)]!);
      }
    }
  }
  // Interleave the kinds (deterministically), so no stretch of the run holds only one kind.
  for (let i = mix.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [mix[i], mix[j]] = [mix[j]!, mix[i]!];
  }
  return mix;
}
