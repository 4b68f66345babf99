import { sql, type Kysely } from "kysely";
import { DomainError } from "./errors.js";
import type { GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow } from "../storage/schema.js";
import { ADMINISTRATOR_ROLES, SYSTEM_ADMINISTRATOR, USER, USERS_GROUP } from "./roles.js";

/**
 * Least privilege: only a system administrator hands out or takes away the system-administrator role.
 * A security administrator may not grant or revoke it, nor — which would amount to the same —
 * change who is in a group that grants it, what else it grants, its name or description, or delete it.
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

/**
 * A group a system administrator is in — itself, or through its profile — is theirs too: deleting it
 * takes them out of it, renaming it changes what they are shown to be in, and its roles are theirs. A
 * security administrator may not change their memberships (assertMayAdminister), nor therefore these.
 * `what`: the change, as the refusal names it ("delete this group").
 */
export async function assertMayChangeGroupOfAdministrators(db: Kysely<Database>, group: GroupRow, callerRoles: readonly string[], what: string): Promise<void> {
  if (callerRoles.includes(SYSTEM_ADMINISTRATOR)) return;
  if (await hasSystemAdministratorMember(db, group.id)) {
    throw new DomainError("not-permitted", `Only a system administrator may ${what}: a system administrator is a member of it.`, { group: group.name, requiredRoles: [SYSTEM_ADMINISTRATOR] });
  }
}

/**
 * Whether a user who holds system-administrator (through its own groups or its profile's) is in the group
 * (by id) or in one of a directory's groups, itself or through its profile. Also the group view's
 * `systemAdministratorMember`: the console hides what this rule refuses.
 */
export async function hasSystemAdministratorMember(db: Kysely<Database>, groups: number | { directoryId: number }): Promise<boolean> {
  // The users and profiles in granting groups: few, however big the store; every query starts from them or the groups.
  // A subquery, not a list of ids: a bound list has a length limit, and there is no limit on holders.
  const holders = db.selectFrom("group_members as holder").select("holder.user_id").where("holder.group_id", "in", grantingGroups(db));
  const groupIds = typeof groups === "number" ? [groups] : db.selectFrom("groups").select("groups.id").where("groups.directory_id", "=", groups.directoryId);
  const members = db.selectFrom("group_members").select("group_members.user_id").where("group_members.group_id", "in", groupIds);
  // A holder in the group: a user, or a profile (its users hold the role and are in the group through it).
  if (await members.where("group_members.user_id", "in", holders).limit(1).executeTakeFirst()) return true;
  // A holder whose profile is in the group.
  if (await db.selectFrom("users").select("id").where("id", "in", holders).where("profile_id", "in", members).limit(1).executeTakeFirst()) return true;
  // A user in the group that holds the role through its profile.
  const inherits = await db
    .selectFrom("group_members")
    .innerJoin("users", "users.id", "group_members.user_id")
    .select("users.id")
    .where("group_members.group_id", "in", groupIds)
    .where("users.profile_id", "in", holders)
    .limit(1)
    .executeTakeFirst();
  return inherits !== undefined;
}

/** Every account joins the built-in `users` group: an administrator role granted to it would make everyone an administrator. */
export function assertMayGrantTo(group: GroupRow, roleName: string): void {
  if (group.builtin && group.name === USERS_GROUP && (ADMINISTRATOR_ROLES as readonly string[]).includes(roleName)) {
    throw new DomainError("refused", `The ${roleName} role cannot be granted to the built-in users group, which every account joins.`, { group: group.name, role: roleName });
  }
}

/** The built-in `users` group keeps the `user` role: every account has it through that group. */
export function assertMayRevokeFrom(group: GroupRow, roleName: string): void {
  if (group.builtin && group.name === USERS_GROUP && roleName === USER) {
    throw new DomainError("refused", "The user role cannot be removed from the built-in users group.", { group: group.name, role: roleName });
  }
}

/** Where accounts come from and log in: a directory, or an identity provider. */
export type LoginSource = { directoryId: number } | { providerId: number };

/** The ids of the groups that grant system-administrator (few, whatever the store's size). */
export const grantingGroups = (db: Kysely<Database>) => db.selectFrom("group_roles").innerJoin("roles", "roles.id", "group_roles.role_id").select("group_roles.group_id").where("roles.name", "=", SYSTEM_ADMINISTRATOR);

/** Whether one of these groups (by id) grants system-administrator. */
export async function grantsSystemAdministrator(db: Kysely<Database>, groupIds: readonly string[]): Promise<boolean> {
  const ids = [...new Set(groupIds.map((id) => id.toLowerCase()))];
  if (ids.length === 0) return false;
  const granting = grantingGroups(db);
  return (await db.selectFrom("groups").select("id").where("uuid", "in", ids).where("id", "in", granting).executeTakeFirst()) !== undefined;
}

/**
 * A directory or an identity provider decides who logs in as its users, and its group settings which
 * groups they join: changing one through which accounts hold the system-administrator role — a user
 * of it holds the role, or a group it fills grants it — is as much power as setting those accounts'
 * passwords, and only a system administrator has that (assertMayAdminister). `groupIds`: the local
 * groups its settings name, before and after the change; `source`: null for a new one.
 */
export async function assertMayConfigureLoginSource(db: Kysely<Database>, callerRoles: readonly string[], source: LoginSource | null, groupIds: readonly string[], what: string): Promise<void> {
  if (callerRoles.includes(SYSTEM_ADMINISTRATOR)) return;
  const granting = grantingGroups(db);
  const refuse = () => new DomainError("not-permitted", `Only a system administrator may ${what}: accounts hold the system-administrator role through it (a user of it, or a group it fills).`, { requiredRoles: [SYSTEM_ADMINISTRATOR] });
  if (await grantsSystemAdministrator(db, groupIds)) throw refuse();
  if (source === null) return;
  if ("directoryId" in source && (await db.selectFrom("groups").select("id").where("directory_id", "=", source.directoryId).where("id", "in", granting).executeTakeFirst())) throw refuse();
  // From the members of granting groups (few, however big the store) to the source's users: those
  // members themselves, and the users whose profile is one: looked up by those ids (a unary + keeps
  // SQLite's planner off the directory's index, which would walk all its users).
  const holders = (await db.selectFrom("group_members").select("user_id").distinct().where("group_id", "in", granting).execute()).map((r) => r.user_id);
  if (holders.length === 0) return;
  const ofSource = (column: "users.id" | "users.profile_id") =>
    db
      .selectFrom("users")
      .select("users.id")
      .where(column, "in", holders)
      .where((eb) =>
        "directoryId" in source
          ? eb(sql`+users.directory_id`, "=", source.directoryId)
          : eb.exists(eb.selectFrom("federated_identities as f").select("f.user_id").whereRef("f.user_id", "=", "users.id").where("f.provider_id", "=", source.providerId)),
      )
      .limit(1)
      .executeTakeFirst();
  const through = (await ofSource("users.id")) ?? (await ofSource("users.profile_id"));
  if (through) throw refuse();
}

/**
 * A way into an account that a security administrator may make — an API key, a link to a provider's
 * subject, the configuration of a provider or a directory — opens an account that holds the
 * system-administrator role only when a system administrator made it (`by_system_administrator`,
 * migration 014f). Else a security administrator could plant one on an ordinary account and hold the
 * role from the day that account is promoted, by whichever path. Checked when the way in is used.
 */
export function madeBySystemAdministrator(callerRoles: readonly string[]): 0 | 1 {
  return callerRoles.includes(SYSTEM_ADMINISTRATOR) ? 1 : 0;
}

/** The audit reason of a login refused by that rule. */
export const NOT_MADE_BY_SYSTEM_ADMINISTRATOR = "not-made-by-system-administrator";
