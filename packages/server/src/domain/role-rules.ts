import type { Kysely } from "kysely";
import { DomainError } from "./errors.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow } from "../storage/schema.js";
import { ADMINISTRATOR_ROLES, SYSTEM_ADMINISTRATOR, USERS_GROUP } from "./roles.js";

/**
 * Least privilege: only a system administrator hands out or takes away the system-administrator role.
 * A security administrator may not grant or revoke it, nor — which would amount to the same —
 * change who is in a group that grants it, what else it grants, its name, or delete it.
 */
export function assertMayGrantOrRevoke(roleName: string, callerRoles: readonly string[]): void {
  if (roleName === SYSTEM_ADMINISTRATOR && !callerRoles.includes(SYSTEM_ADMINISTRATOR)) {
    throw new DomainError("not-permitted", "Only a system administrator may grant or revoke the system-administrator role.", { role: roleName });
  }
}

export async function assertMayChangeAdministratorGroup(groups: GroupQueries, db: Kysely<Database>, group: GroupRow, callerRoles: readonly string[]): Promise<void> {
  if (callerRoles.includes(SYSTEM_ADMINISTRATOR)) return;
  if (await groups.groupHasRole(db, group.id, SYSTEM_ADMINISTRATOR)) {
    throw new DomainError("not-permitted", "Only a system administrator may change a group that grants the system-administrator role.", { group: group.name });
  }
}

/** Every account joins the built-in `users` group: an administrator role granted to it would make everyone an administrator. */
export function assertMayGrantTo(group: GroupRow, roleName: string): void {
  if (group.builtin && group.name === USERS_GROUP && (ADMINISTRATOR_ROLES as readonly string[]).includes(roleName)) {
    throw new DomainError("refused", `The ${roleName} role cannot be granted to the built-in users group, which every account joins.`, { group: group.name, role: roleName });
  }
}
