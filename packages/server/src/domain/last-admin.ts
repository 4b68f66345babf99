import type { Kysely } from "kysely";
import { DomainError } from "./errors.js";
import type { Database } from "../storage/schema.js";
import { SYSTEM_ADMINISTRATOR } from "./roles.js";

/**
 * Call inside the transaction of any change that can take the system administrator role away from
 * someone (revoking the role from a group, deleting a group, removing a membership, deleting,
 * disabling or re-profiling a user), after making the change and before committing: throws a 409 —
 * rolling the change back — unless at least one enabled user still holds system-administrator,
 * through its own groups or its profile's.
 */
export async function assertSystemAdministratorRemains(db: Kysely<Database>): Promise<void> {
  // A no-op write on the role row: it locks the row until commit, so two concurrent changes that
  // each remove one of the last two administrators run one after the other and the second sees the
  // first (a plain read would let both pass on PostgreSQL). SQLite serializes writers anyway.
  await db.updateTable("roles").set((eb) => ({ essential: eb.ref("essential") })).where("name", "=", SYSTEM_ADMINISTRATOR).execute();
  const adminGroups = db
    .selectFrom("group_roles")
    .innerJoin("roles", "roles.id", "group_roles.role_id")
    .select("group_roles.group_id")
    .where("roles.name", "=", SYSTEM_ADMINISTRATOR);
  const holders = db.selectFrom("group_members").select("user_id").where("group_id", "in", adminGroups);
  const remaining = await db
    .selectFrom("users")
    .select("id")
    .where("enabled", "=", 1)
    .where((eb) => eb.or([eb("id", "in", holders), eb("profile_id", "in", holders)]))
    .limit(1)
    .executeTakeFirst();
  if (!remaining) {
    throw new DomainError("refused", "The last system administrator cannot be removed: at least one enabled user must hold the system-administrator role.", {
      role: SYSTEM_ADMINISTRATOR,
    });
  }
}
