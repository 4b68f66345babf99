import type { ExpressionBuilder, Kysely } from "kysely";
import { DomainError } from "./errors.js";
import type { Database } from "../storage/schema.js";
import { isoNow } from "../storage/time.js";
import { SYSTEM_ADMINISTRATOR } from "./roles.js";

/** The columns of a user whose change can take away the last account that may log in as system administrator. */
export const ADMINISTRATOR_ACCESS_COLUMNS = ["enabled", "valid_from", "valid_to", "profile_id"] as const;

/**
 * Call inside the transaction of any change that can leave nobody able to log in as system
 * administrator — revoking the role from a group, deleting a group, removing a membership, deleting a
 * user, or changing one of ADMINISTRATOR_ACCESS_COLUMNS of a user (or a profile) — after making
 * the change and before committing: throws a 409, rolling the change back, unless an account that can
 * log in now (enabled, inside its validity window) still holds system-administrator through its own
 * groups or through an enabled profile's.
 */
export async function assertSystemAdministratorRemains(db: Kysely<Database>): Promise<void> {
  // A no-op write on the role row: it locks the row until commit, so two concurrent changes that
  // each remove one of the last two administrators run one after the other and the second sees the
  // first (a plain read would let both pass on PostgreSQL). SQLite serializes writers anyway.
  await db.updateTable("roles").set((eb) => ({ essential: eb.ref("essential") })).where("name", "=", SYSTEM_ADMINISTRATOR).execute();
  const now = isoNow();
  const canLogIn = (eb: ExpressionBuilder<Database, "users">) =>
    eb.and([
      eb("users.enabled", "=", 1),
      eb.or([eb("users.valid_from", "is", null), eb("users.valid_from", "<=", now)]),
      eb.or([eb("users.valid_to", "is", null), eb("users.valid_to", ">=", now)]),
    ]);
  // Members of the groups that grant the role (few): each query starts there and follows an index.
  const members = db
    .selectFrom("group_roles")
    .innerJoin("roles", "roles.id", "group_roles.role_id")
    .innerJoin("group_members", "group_members.group_id", "group_roles.group_id")
    .where("roles.name", "=", SYSTEM_ADMINISTRATOR);
  const holder =
    (await members.innerJoin("users", "users.id", "group_members.user_id").where(canLogIn).select("users.id").limit(1).executeTakeFirst()) ??
    (await members
      .innerJoin("users as profile", "profile.id", "group_members.user_id")
      .innerJoin("users", "users.profile_id", "profile.id")
      .where("profile.enabled", "=", 1)
      .where(canLogIn)
      .select("users.id")
      .limit(1)
      .executeTakeFirst());
  if (!holder) {
    throw new DomainError("refused", "The last system administrator cannot be removed: at least one account that can log in must hold the system-administrator role.", {
      role: SYSTEM_ADMINISTRATOR,
    });
  }
}
