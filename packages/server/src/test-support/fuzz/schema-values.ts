import fc from "fast-check";

/**
 * Values for the JSON schemas of the OpenAPI document: ones the schema takes (`validValue`), ones
 * that break it in one place (`almostValidValue`), and hostile ones that no schema expects
 * (`hostileValue`). Ids, names and aliases are not invented: they are picks from what the server
 * answered so far (`PoolPick`), resolved when the request is sent, so valid requests reach real objects.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  $ref?: string;
}

/** Which answers' fields a pick comes from: ids of anything, names (of roles, groups), aliases of identity providers. */
export type PoolKind = "id" | "name" | "alias";

/** A value to be taken from the pool of what the server answered, when the request is sent. */
export class PoolPick {
  constructor(
    readonly kind: PoolKind,
    readonly index: number,
    /** The collection it should come from (`user-groups` for `/user-groups/{id}`), when the path says. */
    readonly collection?: string,
  ) {}
}

/**
 * The collection a path's answers hold, or a path parameter names: its last fixed segment before
 * the parameter (`/users/{id}/api-keys/{keyId}`: `api-keys`), under the name its list is read by.
 */
export function collectionOf(segmentsBefore: readonly string[]): string | undefined {
  const last = [...segmentsBefore].reverse().find((s) => !s.startsWith("{"));
  return last === undefined ? undefined : (COLLECTION_NAMES[last] ?? last);
}

/** Segments whose objects are listed under another name: members are users, role mappings name roles, provider logins name identity providers. */
const COLLECTION_NAMES: Record<string, string> = { members: "users", portal: "roles", available: "roles", providers: "external-identity-provider", "federated-identities": "external-identity-provider" };

/** The pool a property or parameter name draws from, if any. */
export function poolKindOf(name: string): PoolKind | undefined {
  if (/^(id|.*Id|.*Ids)$/.test(name)) return "id";
  if (name === "alias") return "alias";
  if (/^(roleName|name|roles)$/.test(name)) return "name";
  return undefined;
}

/** Strings meant to hurt: encodings, Unicode oddities, injection, sizes, lookalikes. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "\u202eevil",
  "\ufeffsysadmin",
  "ｓｙｓａｄｍｉｎ",
  "ѕуѕаdmin",
  "SYSADMIN",
  "e\u0301\u0301\u0301\u0301\u0301\u0301",
  "👨‍👩‍👧‍👦",
  "𝕊𝕐𝕊",
  "ß",
  "İı",
  "'; drop table users; --",
  "\" or 1=1 --",
  "%",
  "%00",
  "%E0%A4%A",
  "../../etc/passwd",
  "..\\..\\",
  "<script>alert(1)</script>",
  "${jndi:ldap://127.0.0.1:1/a}",
  "(&(uid=*)(|(objectClass=*)))",
  "*)(uid=*",
  "__proto__",
  "constructor",
  "prototype",
  "null",
  "undefined",
  "NaN",
  "-1",
  "1e309",
  "0x10",
  "9".repeat(40),
  "true",
  "[]",
  "{}",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
  "\r\nX-Injected: 1",
  "\t",
  "x".repeat(257),
  "é".repeat(4097),
  "ldap://127.0.0.1:1",
  "http://127.0.0.1:1/",
];

/** Any string, from every kind of code unit and grapheme, or one of HOSTILE_STRINGS. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom("\ud800", "\udc00", "\u0000", "\u0085", "\u2028", "a", "%", "/"), maxLength: 20 }), weight: 1 },
  { arbitrary: fc.integer({ min: 300, max: 70_000 }).map((n) => "a".repeat(n)), weight: 1 },
);

/**
 * A JSON value nested `depth` levels deep (arrays or objects), built when the request is sent: the
 * generated value stays small for fast-check to print.
 */
export class Nested {
  constructor(
    readonly depth: number,
    readonly object: boolean,
  ) {}

  build(): unknown {
    let value: unknown = 1;
    for (let i = 0; i < this.depth; i++) value = this.object ? { a: value } : [value];
    return value;
  }

  [fc.toStringMethod](): string {
    return `Nested(${this.depth}, ${this.object ? "object" : "array"})`;
  }
}

/** Any JSON-ish value, hostile ones first: wrong types, huge numbers, deep nesting, prototype keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1.5, 1e308, -0, [], {}, [null], JSON.parse('{"__proto__":{"admin":true}}')), weight: 3 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.tuple(fc.integer({ min: 2, max: 2000 }), fc.boolean()).map(([depth, object]) => new Nested(depth, object)), weight: 1 },
  { arbitrary: fc.dictionary(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"), fc.jsonValue({ maxDepth: 1 })), weight: 1 },
);

/** Arbitraries made so far, by schema and field name: a pattern's takes a while to build. */
const made = new WeakMap<JsonSchema, Map<string, fc.Arbitrary<unknown>>>();

/** A value the schema takes (within what a generator can know: patterns are kept, sizes and ranges too). */
export function validValue(schema: JsonSchema, name = ""): fc.Arbitrary<unknown> {
  const byName = made.get(schema) ?? new Map<string, fc.Arbitrary<unknown>>();
  made.set(schema, byName);
  let arbitrary = byName.get(name);
  if (!arbitrary) byName.set(name, (arbitrary = makeValidValue(schema, name)));
  return arbitrary;
}

function makeValidValue(schema: JsonSchema, name: string): fc.Arbitrary<unknown> {
  const pool = poolKindOf(name);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validValue(s, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      // Small values name things that exist (a profile's numericId, a page of a few); the whole range too.
      const min = schema.minimum ?? -1000;
      const max = schema.maximum ?? 1_000_000;
      return fc.oneof(fc.integer({ min, max: Math.min(max, Math.max(min, 0) + 10) }), fc.integer({ min, max }));
    }
    case "number":
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case "array": {
      const items = schema.items ?? {};
      const element = pool === "id" || pool === "name" ? fc.oneof(poolPick(pool), validValue(items)) : validValue(items, name);
      return fc.array(element, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    }
    case "object":
      return validObject(schema);
    case "string":
      return pool ? fc.oneof({ arbitrary: poolPick(pool), weight: 3 }, { arbitrary: validString(schema, name), weight: 1 }) : validString(schema, name);
    default:
      return pool ? fc.oneof(poolPick(pool), fc.jsonValue({ maxDepth: 2 })) : fc.jsonValue({ maxDepth: 2 });
  }
}

function poolPick(kind: PoolKind): fc.Arbitrary<PoolPick> {
  return fc.nat().map((i) => new PoolPick(kind, i));
}

/** Addresses of nothing: a URL field is never pointed outside this machine, nor at anything that answers. */
const CLOSED_URLS = ["ldap://127.0.0.1:1", "ldaps://127.0.0.1:1", "http://127.0.0.1:1/", "https://127.0.0.1:1/realms/x", "ldap://127.0.0.1:1 ldap://[::1]:1"];

function validString(schema: JsonSchema, name: string): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 64, 300);
  if (/url|uri|issuer|endpoint/i.test(name) || schema.format === "uri") return fc.constantFrom(...CLOSED_URLS);
  if (/password|secret/i.test(name)) return fc.constantFrom("Correct-Horse-Battery-9", "Zq7#wLp2!xVb8nT", "short", "password1234", "x".repeat(maxLength));
  // A date pattern's strings are mostly no date (month 92): real dates, some of them as dates alone.
  if (schema.format === "date-time" || schema.pattern?.startsWith("^\\d{4}-")) return fc.tuple(fc.date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }), fc.boolean()).map(([d, dateAlone]) => (dateAlone ? d.toISOString().slice(0, 10) : d.toISOString()));
  if (schema.format === "email") return fc.emailAddress();
  if (schema.format === "uuid") return fc.uuid();
  let strings: fc.Arbitrary<string>;
  if (schema.pattern) {
    try {
      strings = fc.stringMatching(new RegExp(schema.pattern, "u"));
    } catch {
      // A pattern fast-check cannot read: any string of the size.
      strings = fc.string({ minLength, maxLength });
    }
  } else {
    strings = fc.string({ unit: fc.oneof(fc.constantFrom("a", "b", "z", "0", ".", "-", " "), fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 })), minLength, maxLength });
  }
  // Sizes win over patterns: a pattern's string cut to size may break it, which is an almost valid value.
  return strings.map((s) => (s.length > maxLength ? s.slice(0, maxLength) : s.padEnd(minLength, "a")));
}

function validObject(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  const model = Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, validValue(s, key)]));
  return fc.record(model, { requiredKeys: required.filter((k) => k in model) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** A valid value broken in one place: a required field dropped, an unknown one added, a field of the wrong type or size. */
export function almostValidValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const properties = Object.keys(schema.properties ?? {});
  if (schema.type !== "object" || properties.length === 0) return fc.oneof(hostileValue, fc.constant(undefined));
  return fc.tuple(validObject(schema), fc.constantFrom(...properties), fc.integer({ min: 0, max: 4 }), hostileValue).map(([value, key, how, bad]) => {
    const broken: Record<string, unknown> = { ...value };
    const field = schema.properties![key]!;
    if (how === 0) delete broken[(schema.required ?? [key])[0] ?? key];
    else if (how === 1) broken[`${key}X`] = bad;
    else if (how === 2) broken[key] = bad;
    else if (how === 3) broken[key] = "x".repeat((field.maxLength ?? 1024) + 1);
    else broken[key] = typeof field.maximum === "number" ? field.maximum + 1 : typeof field.minimum === "number" ? field.minimum - 1 : [bad];
    return broken;
  });
}
