/** Options every call takes. */
const CALL_OPTIONS = ["signal", "timeout"];

/**
 * A call's options, checked: a name it does not take (a typo, the seed's snake_case) would otherwise be
 * dropped silently — an API key made without the expiry asked for, a group without its description.
 * `names`: what the call takes besides `signal` and `timeout`.
 */
export function checkOptions(opts: unknown, names: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) throw new TypeError("the options must be an object");
  for (const name of Object.keys(opts)) {
    if (names.includes(name) || CALL_OPTIONS.includes(name)) continue;
    const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    throw new TypeError(`unknown option "${name}"${camel !== name && names.includes(camel) ? `; use ${camel}` : ""}`);
  }
}
