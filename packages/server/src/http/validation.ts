import { Ajv, type Options } from "ajv";
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

export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  (httpPart === "body" ? strict : coercing).compile(schema as object);
