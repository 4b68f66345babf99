import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const common: Options = { allErrors: false, useDefaults: true, strict: false };

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
  const check = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
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

export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  withTextCheck((httpPart === "body" ? strict : coercing).compile(schema as object));
