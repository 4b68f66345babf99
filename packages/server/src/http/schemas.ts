import { Type, type TSchema } from "typebox";
import { PASSWORD_MAX } from "../domain/user-fields.js";

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


/** A new password, as every route that sets one takes it; the password policy (configurable) decides the rest. */
export const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX });
