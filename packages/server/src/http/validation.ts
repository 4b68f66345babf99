import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// verbose: errors carry the schema and data they failed on, which the messages below read.
const common: Options = { allErrors: false, useDefaults: true, strict: false, verbose: true };

/**
 * Bodies are validated strictly: a number where a string belongs, or an unknown field of a closed
 * object, is a 400 rather than something silently converted or dropped. Query strings and path
 * parameters arrive as text and are coerced to the declared types.
 */
const strict = addFormats(new Ajv({ ...common, coerceTypes: false, removeAdditional: false }));
const coercing = addFormats(new Ajv({ ...common, coerceTypes: "array", removeAdditional: false }));

/** NUL, or a surrogate code unit that is not half of a pair (with the u flag, pairs are matched as one code point). */
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** Text a store can hold as it was sent: PostgreSQL refuses NUL, and a lone UTF-16 surrogate has no UTF-8 form (it would be stored as U+FFFD). */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** The JSON pointer of the first string (value or key) in `data` that is not storable text, or undefined. */
function unstorableTextAt(data: unknown, path = ""): string | undefined {
  if (typeof data === "string") return isStorableText(data) ? undefined : path || "/";
  if (data === null || typeof data !== "object") return undefined;
  for (const [key, value] of Object.entries(data)) {
    const at = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    if (!isStorableText(key)) return at;
    const bad = unstorableTextAt(value, at);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

/** Every request part is checked for unstorable text too, so such input is a 400 on both stores instead of a database error. */
function withTextCheck(validate: ValidateFunction): ValidateFunction {
  const schema = validate.schema as { type?: string; properties?: object; additionalProperties?: unknown };
  const known = schema.type === "object" && schema.additionalProperties === false ? new Set(Object.keys(schema.properties ?? {})) : undefined;
  const check = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    // Unknown names first: a misspelt parameter is the likelier mistake than the missing one it was meant to be.
    if (known && data !== null && typeof data === "object" && !Array.isArray(data) && Object.keys(data).some((key) => !known.has(key))) {
      check.errors = [{ keyword: "additionalProperties", instancePath: "", schemaPath: "#/additionalProperties", params: {}, parentSchema: schema, data }];
      return false;
    }
    if (!validate(data, context)) {
      check.errors = validate.errors;
      return false;
    }
    const at = unstorableTextAt(data);
    const error: ErrorObject = { keyword: "text", instancePath: at ?? "", schemaPath: "#", params: {}, message: "must be well-formed Unicode text without NUL characters" };
    check.errors = at === undefined ? null : [error];
    return at === undefined;
  }) as ValidateFunction;
  // Fastify passes the parent object (so Ajv can coerce a root value) only to functions that have a schemaEnv.
  return Object.assign(check, { schema: validate.schema, schemaEnv: validate.schemaEnv });
}

/** Validators by what they are compiled from (how the part is read, and the schema as JSON). */
const validators = new Map<string, ValidateFunction>();

/**
 * A process compiles a given schema once: each server Fastify builds asks for every route's validators
 * anew, the same schemas (equal, not always the same objects) to the same functions; a process that
 * builds many (`npm run admin`, the test suites) builds each once.
 */
export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) => {
  const body = httpPart === "body";
  const key = `${body ? "body" : "text"}\n${JSON.stringify(schema)}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = body ? withTextCheck(strict.compile(schema as object)) : withPlainNumbers(withTextCheck(coercing.compile(schema as object)));
    validators.set(key, validate);
  }
  return validate;
};

/** Numbers in a query or a path as people write them: Ajv's coercion would also take 0x10, 1e3 and " 5". */
const PLAIN = { integer: /^-?\d+$/, number: /^-?\d+(?:\.\d+)?$/ } as const;

/** Text coerced to a number must be written in decimal digits: anything else is a 400 like any wrong type. */
function withPlainNumbers(validate: ValidateFunction): ValidateFunction {
  const properties = (validate.schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const numeric = Object.entries(properties).filter((entry): entry is [string, { type: "integer" | "number" }] => entry[1].type === "integer" || entry[1].type === "number");
  if (numeric.length === 0) return validate;
  const check = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    const values = data as Record<string, unknown> | null;
    for (const [key, { type }] of numeric) {
      const value = values?.[key];
      if (typeof value === "string" && !PLAIN[type].test(value)) {
        check.errors = [{ keyword: "type", instancePath: `/${key}`, schemaPath: `#/properties/${key}/type`, params: { type }, data: value }];
        return false;
      }
    }
    const valid = validate(data, context);
    check.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return Object.assign(check, { schema: validate.schema, schemaEnv: validate.schemaEnv });
}

/** Deepest nesting of arrays and objects a JSON body may have (fields typed "any" would otherwise take any depth). */
export const MAX_JSON_DEPTH = 32;

/** True when the JSON text nests arrays or objects deeper than `max`: checked before parsing, so no deep structure is ever built or walked. */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Schema annotation for a `pattern`: what a value that does not match it is, in words
 * (`"x-pattern-message": "is not an e-mail address"`), so the answer says that instead of the regular expression.
 */
export const PATTERN_MESSAGE = "x-pattern-message";

const PART_NAMES: Record<string, { unknown: string; of: string }> = {
  body: { unknown: "Unknown field", of: "body" },
  querystring: { unknown: "Unknown query parameter", of: "query" },
  params: { unknown: "Unknown path parameter", of: "path" },
  headers: { unknown: "Unknown header", of: "headers" },
};

const TYPE_NAMES: Record<string, string> = {
  string: "text (a JSON string)",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list (a JSON array)",
  null: "null",
};

/** The field an error is about: `email`, `federatedIdentities/0/alias`; the part itself for the whole of it. */
function fieldOf(error: ErrorObject, part: string): string {
  const path = error.instancePath.slice(1).replaceAll("~1", "/").replaceAll("~0", "~");
  return path || PART_NAMES[part]?.of || part;
}

/** A caller's text as an answer repeats it: at most 64 characters. */
export function bounded(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** The names an object's schema knows, and those of its data it does not (the caller's, repeated, but not without bound). */
function namesOf(error: ErrorObject): { known: string[]; unknown: string[] } {
  const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
  const data = error.data !== null && typeof error.data === "object" ? (error.data as Record<string, unknown>) : {};
  return { known, unknown: Object.keys(data).filter((key) => !known.includes(key)).slice(0, 10).map((key) => bounded(key)) };
}

/**
 * A validation failure in words for people (`email is not an e-mail address`, `unknown query parameter:
 * locked`) and, for programs, where it was: `{in, field}`, plus the `unknown` names of a closed object.
 */
export function describeValidation(errors: readonly ErrorObject[], part: string): { message: string; info: Record<string, unknown> } {
  // A union (a nullable field) reports each branch and then itself: the first branch's complaint says it best.
  const error = errors.find((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf") ?? errors[0]!;
  const field = fieldOf(error, part);
  const info: Record<string, unknown> = { in: part, field };
  const params = error.params as Record<string, any>;
  let message: string;
  switch (error.keyword) {
    case "required": {
      info.field = error.instancePath ? `${field}/${params.missingProperty}` : params.missingProperty;
      message = `${info.field} is required`;
      // A misspelt name is the likely cause (`localGrupId`): said with it, where the object takes no others.
      const { known, unknown } = namesOf(error);
      if (unknown.length > 0 && (error.parentSchema as { additionalProperties?: unknown } | undefined)?.additionalProperties === false) {
        info.unknown = unknown;
        message += `; ${(PART_NAMES[part]?.unknown ?? "Unknown name").toLowerCase()}${unknown.length > 1 ? "s" : ""}${error.instancePath ? ` in ${field}` : ""}: ${unknown.join(", ")} (known: ${known.join(", ")})`;
      }
      break;
    }
    case "additionalProperties": {
      const { known, unknown } = namesOf(error);
      const names = PART_NAMES[part]?.unknown ?? "Unknown name";
      info.unknown = unknown;
      delete info.field;
      message = `${names}${unknown.length > 1 ? "s" : ""}${error.instancePath ? ` in ${field}` : ""}: ${unknown.join(", ")}; ${known.length ? `known: ${known.join(", ")}` : "it takes none"}`;
      break;
    }
    case "type":
      // A query parameter given twice arrives as a list: say so, not that it is of the wrong type.
      if (part === "querystring" && Array.isArray(error.data)) message = `${field} is given ${error.data.length} times; give it once`;
      else message = `${field} must be ${String(params.type).split(",").map((t) => TYPE_NAMES[t] ?? t).join(" or ")}`;
      break;
    case "pattern":
      // An empty one is said as such, not as one of the wrong form.
      message = error.data === "" ? `${field} must not be empty` : `${field} ${(error.parentSchema as Record<string, string> | undefined)?.[PATTERN_MESSAGE] ?? "is not in the expected form"}`;
      break;
    case "minLength":
      message = params.limit === 1 ? `${field} must not be empty` : `${field} must be at least ${params.limit} characters long`;
      break;
    case "maxLength":
      message = `${field} must be at most ${params.limit} characters long`;
      break;
    case "minItems":
      message = params.limit === 1 ? `${field} must not be empty` : `${field} must have at least ${params.limit} items`;
      break;
    case "maxItems":
      message = `${field} must have at most ${params.limit} items`;
      break;
    case "uniqueItems":
      // Ajv's i and j count from 0, in either order.
      message = `${field} lists ${bounded(JSON.stringify((error.data as unknown[])[params.i]) ?? "")} twice (items ${Math.min(params.i, params.j) + 1} and ${Math.max(params.i, params.j) + 1})`;
      break;
    case "minimum":
      message = `${field} must be at least ${params.limit}`;
      break;
    case "maximum":
      message = `${field} must be at most ${params.limit}`;
      break;
    case "const": {
      // A union of literals reports each branch's value: the field may be any of them, not just the first.
      const allowed = errors.filter((e) => e.keyword === "const" && e.instancePath === error.instancePath).map((e) => (e.params as { allowedValue: unknown }).allowedValue);
      if (allowed.length > 1) info.allowed = allowed;
      message = `${field} must be ${allowed.length > 1 ? "one of " : ""}${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
      break;
    }
    case "enum":
      message = `${field} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
      break;
    case "format":
      message = `${field} is not a valid ${params.format}`;
      break;
    default:
      message = `${field} ${error.message ?? "is not valid"}`;
  }
  return { message: `${message}.`, info };
}
