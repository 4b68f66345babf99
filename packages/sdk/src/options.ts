/** Options every call takes. */
const CALL_OPTIONS = ["signal", "timeout"];

/**
 * A call's options, checked: a name it does not take (a typo, the seed's snake_case) would otherwise be
 * dropped silently — an API key made without the expiry asked for, a group without its description.
 * `names`: what the call takes besides `signal` and `timeout`; `flags`: those of them that are `true` or
 * `false` only (`dryRun: "no"` would be a dry run).
 */
export function checkOptions(opts: unknown, names: readonly string[], flags: readonly string[] = []): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) throw new TypeError("the options must be an object");
  for (const [name, value] of Object.entries(opts)) {
    if (!names.includes(name) && !CALL_OPTIONS.includes(name)) {
      const camel = camelCaseOf(name);
      throw new TypeError(`unknown option "${name}"${camel !== name && names.includes(camel) ? `; use ${camel}` : ""}`);
    }
    if (flags.includes(name) && value !== undefined && typeof value !== "boolean") throw new TypeError(`${name} must be true or false`);
  }
}

/**
 * What a call's requests take of its options (`signal`, `timeout`), the options checked first as
 * checkOptions does: every call refuses a name it does not take, not only those with more options.
 */
export function callOptions(opts: { signal?: AbortSignal; timeout?: number } | undefined, names: readonly string[] = [], flags: readonly string[] = []): { signal?: AbortSignal; timeout?: number } {
  checkOptions(opts, names, flags);
  return { signal: opts?.signal, timeout: opts?.timeout };
}

/** The field names of a configuration body: `true` for a field, the names of its fields for a nested object. */
export type FieldNames = { readonly [name: string]: true | FieldNames };

/**
 * A configuration body's field names (a directory's, an identity provider's), checked before it is sent
 * as every call's options are: a misspelt field (`bindPasword`) is refused here, with the names it may
 * have meant, and nested objects (`config`, `attributeMapping`) are checked the same way.
 */
export function checkFields(body: object, what: string, names: FieldNames): void {
  for (const [name, value] of Object.entries(body)) {
    // Own names only: `toString` or `constructor` is no field, whatever the object inherits.
    const known = Object.hasOwn(names, name) ? names[name] : undefined;
    if (known === undefined) {
      const camel = camelCaseOf(name);
      throw new TypeError(`unknown ${what} field "${name}"${camel !== name && Object.hasOwn(names, camel) ? `; use ${camel}` : `; known: ${Object.keys(names).join(", ")}`}`);
    }
    if (known !== true && value !== null && typeof value === "object") {
      for (const item of Array.isArray(value) ? value : [value]) if (item !== null && typeof item === "object") checkFields(item as object, `${what} ${name}`, known);
    }
  }
}

/** The seed's snake_case name in the SDK's camelCase (`dry_run` → `dryRun`), for the hint of a refusal. */
function camelCaseOf(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
