import { Type, type TSchema } from "typebox";
import { PASSWORD_MAX } from "../domain/user-fields.js";
import { PATTERN_MESSAGE } from "./validation.js";

/** Shapes shared by every route. */

export const Nullable = <T extends TSchema>(schema: T, options?: { description: string }) => Type.Union([schema, Type.Null()], options);

export const ErrorSchema = Type.Object(
  {
    errorMessage: Type.String({ description: "`<CODE>-E <text>`; the code is stable" }),
    additionalInfo: Type.String({ description: "JSON object as a string, with details" }),
  },
  { $id: "Error", description: "Every error answer", examples: [{ errorMessage: "ECMS1201-E The specified user does not exist.", additionalInfo: "{\"id\":\"82576381-e765-4645-a697-782111f8f5b5\"}" }] },
);

export const Uuid = Type.String({ description: "Object ID (UUID)" });

export const IdParams = Type.Object({ id: Uuid });

/** Standard error answers to declare on a route. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref("Error")]));


/** A time a caller sets (validity, a key's expiry), or null: ISO 8601, a date alone meaning its midnight UTC (domain/users.ts normalizeTime). */
export const TimeInput = (description: string) =>
  Nullable(Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}([Tt]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2}))?$", [PATTERN_MESSAGE]: "is not an ISO 8601 date or time with a zone, such as 2030-12-31 or 2030-12-31T23:59:59Z", description: `${description}; ISO 8601, a date alone meaning its midnight UTC` }));

/** A new password, as every route that sets one takes it; the password policy (configurable) decides the rest. */
export const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX });
