import type { Kysely } from "kysely";
import { isForeignKeyViolation, isUniqueViolation } from "../storage/constraints.js";
import type { GroupFieldsInput, GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow, RoleRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import type { UserQueries } from "../storage/user-queries.js";
import { recordAudit, recordAuditMany, type Actor, groupTarget, userTarget } from "./audit.js";
import { DomainError, notFound, staleVersion } from "./errors.js";
import { assertSystemAdministratorRemains } from "./last-admin.js";
import { requireGroup, requireRole, requireUser } from "./lookups.js";
import { assertGroupName, normalizeName } from "./names.js";
import { assertMayChangeAdministratorGroup, assertMayChangeGroupOfAdministrators, assertMayGrantOrRevoke, assertMayGrantTo, assertMayRevokeFrom } from "./role-rules.js";
import { SYSTEM_ADMINISTRATOR, USERS_GROUP } from "./roles.js";
import { assertMayAdminister, type AdminActor } from "./users.js";
import { checkPrecondition, holdVersion, readForChange, type Precondition } from "./versioned.js";

/** The fields of a group a change may set; absent fields keep their value. */
export interface GroupChanges {
  name?: string;
  description?: string | null;
}

const nameTaken = (name: string) => new DomainError("name-taken", "A group with this name already exists.", { name });

/** What an audit event of a membership says of its group. */
const memberDetails = (group: GroupRow) => ({ groupId: group.uuid, group: group.name });

/** A membership a directory's sync made is the directory's: removed here, its next sync would add it back. */
export const syncedMembership = (group: Pick<GroupRow, "name">, directory: string) =>
  new DomainError(
    "refused",
    `The membership in ${group.name} comes from the directory "${directory}": change it there (removed here, the directory's next sync would add it back; adding the user to the group by hand first makes the membership yours to remove).`,
    { group: group.name, directory },
  );

/** Settings that name local groups (a provider's lists, a directory's groupMappings): who names which of these groups; a group so named is not deleted. */
export type GroupReferences = (on: Kysely<Database>, groupUuids: readonly string[]) => Promise<GroupNamer[]>;
/** One group named by one setting: `by` says where, in words (`identity provider "corp" (defaultGroupList)`). */
export interface GroupNamer {
  group: string;
  by: string;
  /** The directory whose settings name it, when a directory's do. */
  directoryId?: number;
}

/**
 * The namers among `settings` (a provider's or a directory's each) of the groups `wanted`: `groupsOf`
 * says which groups one names, `namer` how it is said.
 */
export function namersAmong<T>(settings: readonly T[], wanted: readonly string[], groupsOf: (s: T) => readonly string[], namer: (s: T, group: string) => Omit<GroupNamer, "group">): GroupNamer[] {
  const asked = new Set(wanted);
  return settings.flatMap((s) => [...new Set(groupsOf(s))].filter((group) => asked.has(group)).map((group) => ({ group, ...namer(s, group) })));
}

/**
 * The rules of creating, changing and deleting groups, of their members and of the roles they grant.
 * Every change is one transaction with its audit event.
 */
export function createGroupAdmin({ db }: Store, groups: GroupQueries, users: UserQueries, namedBy: GroupReferences) {
  /** Runs `work` in a transaction; a unique-index violation (a racing writer took the name) is name-taken. */
  async function transaction<T>(name: string, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      throw isUniqueViolation(error) ? nameTaken(name) : error;
    }
  }

  /** The role a grant or revoke names (not found when unknown), once the caller may hand it out. */
  async function grantableRole(roleName: string, callerRoles: readonly string[]): Promise<RoleRow> {
    const role = await requireRole(groups, roleName);
    assertMayGrantOrRevoke(role.name, callerRoles);
    return role;
  }

  async function assertNameFree(trx: Kysely<Database>, name: string, self?: number): Promise<void> {
    const holder = await groups.findByName(name, trx);
    if (holder && holder.id !== self) throw nameTaken(name);
    const lookalike = await groups.findLookalike(name, trx);
    if (lookalike && lookalike.id !== self) {
      throw new DomainError("name-taken", `The group name "${name}" looks like that of the existing group "${lookalike.name}".`, { name, existing: lookalike.name });
    }
  }

  return {
    async create(actor: Actor, input: GroupFieldsInput): Promise<GroupRow> {
      assertGroupName("name", input.name);
      const fields = { ...input, name: normalizeName(input.name) };
      return transaction(fields.name, async (trx) => {
        await assertNameFree(trx, fields.name);
        const created = await groups.insert(trx, fields);
        await recordAudit(trx, actor, { action: "group.create", target: groupTarget(created), details: { after: fields } });
        return created;
      });
    },

    /** Renames a group or changes its description; see readForChange for writers with and without `If-Match`. */
    async update(actor: AdminActor, uuid: string, changes: GroupChanges, precondition: Precondition): Promise<GroupRow> {
      return transaction(changes.name ?? "", async (trx) => {
        const current = await readForChange(trx, "groups", uuid, precondition, () => requireGroup(groups, uuid, trx));
        const fields: GroupFieldsInput = { name: changes.name === undefined ? current.name : normalizeName(changes.name), description: changes.description === undefined ? current.description : changes.description };
        const renamed = fields.name !== current.name;
        // An imported group's name and description are its directory's: the next sync would put them back.
        const fromDirectory = current.directory_id === null ? [] : (["name", "description"] as const).filter((f) => fields[f] !== current[f]);
        if (fromDirectory.length > 0) {
          throw new DomainError("refused", `The directory decides ${fromDirectory.join(", ")} of this group: change ${fromDirectory.length === 1 ? "it" : "them"} there.`, { fields: fromDirectory, group: current.name });
        }
        if (renamed) {
          assertGroupName("name", changes.name!);
          if (current.builtin) throw new DomainError("refused", "A built-in group cannot be renamed.", { group: current.name });
        }
        // Its description too: what a group that grants system-administrator says of itself is a system administrator's to say.
        if (renamed || fields.description !== current.description) await assertMayChangeAdministratorGroup(groups, trx, current, actor.roles);
        if (renamed) {
          await assertMayChangeGroupOfAdministrators(trx, current, actor.roles, "rename this group");
          await assertNameFree(trx, fields.name, current.id);
        }
        const updated = await groups.updateIfVersion(trx, current.id, current.version, fields);
        // Only a writer with If-Match can lose the race (the others hold the row lock): the answer to a stale If-Match.
        if (!updated) throw staleVersion((await requireGroup(groups, uuid, trx)).version);
        await recordAudit(trx, actor, {
          action: "group.update",
          target: groupTarget(updated),
          details: changedFields({ name: current.name, description: current.description }, fields),
        });
        return updated;
      });
    },

    /** Adds a user to a group. Idempotent, except that a membership a directory's sync or a provider's mapping made becomes one by hand, which they no longer remove. */
    async addMember(actor: AdminActor, userId: string, groupId: string, precondition: Precondition): Promise<void> {
      const user = await requireUser(users, userId);
      await assertMayAdminister(users, actor, user, "change the groups of a system administrator");
      try {
        await db.transaction().execute(async (trx) => {
          await holdVersion(trx, "users", user.uuid, precondition);
          const group = await requireGroup(groups, groupId, trx);
          await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
          if (await groups.addMember(trx, group.id, user.id, "hand")) {
            await recordAudit(trx, actor, { action: "group.member.add", target: userTarget(user), details: memberDetails(group) });
          }
        });
      } catch (error) {
        // The user or the group was deleted between our read and our insert.
        throw isForeignKeyViolation(error) ? new DomainError("not-found", "The user or the group was deleted meanwhile.", { id: userId, groupId }) : error;
      }
    },

    /** Removes a user from a group (idempotent); refused for a membership a directory's sync made, or when no enabled system administrator would remain. */
    async removeMember(actor: AdminActor, userId: string, groupId: string, precondition: Precondition): Promise<void> {
      const user = await requireUser(users, userId);
      await assertMayAdminister(users, actor, user, "change the groups of a system administrator");
      await db.transaction().execute(async (trx) => {
        await holdVersion(trx, "users", user.uuid, precondition);
        const group = await requireGroup(groups, groupId, trx);
        await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
        const directory = (await groups.syncedGroupsOf(trx, user.id)).get(group.id);
        if (directory !== undefined) throw syncedMembership(group, directory);
        if ((await groups.removeMember(trx, [group.id], user.id)) > 0) {
          await assertSystemAdministratorRemains(trx);
          await recordAudit(trx, actor, { action: "group.member.remove", target: userTarget(user), details: memberDetails(group) });
        }
      });
    },

    /**
     * Removes a user from every group of its own but `users`; the groups its profile gives, and the
     * memberships a directory's sync made, stay. All or nothing; answers the groups it left.
     */
    async removeFromAll(actor: AdminActor, userId: string, precondition: Precondition): Promise<GroupRow[]> {
      const user = await requireUser(users, userId);
      await assertMayAdminister(users, actor, user, "change the groups of a system administrator");
      return db.transaction().execute(async (trx) => {
        await holdVersion(trx, "users", user.uuid, precondition);
        const synced = await groups.syncedGroupsOf(trx, user.id);
        const leaving = (await groups.directGroupsOfUser(trx, user.id)).filter((g) => !(g.builtin && g.name === USERS_GROUP) && !synced.has(g.id));
        for (const group of leaving) await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
        await groups.removeMember(trx, leaving.map((g) => g.id), user.id);
        if (leaving.length > 0) await assertSystemAdministratorRemains(trx);
        await recordAuditMany(trx, actor, leaving.map((group) => ({ action: "group.member.remove", target: userTarget(user), details: memberDetails(group) })));
        return leaving;
      });
    },

    /** Grants a role to a group (idempotent), as the caller may. */
    async grantRole(actor: AdminActor, groupId: string, roleName: string, precondition: Precondition): Promise<void> {
      const role = await grantableRole(roleName, actor.roles);
      try {
        await db.transaction().execute(async (trx) => {
          await holdVersion(trx, "groups", groupId, precondition);
          const group = await requireGroup(groups, groupId, trx);
          assertMayGrantTo(group, role.name);
          await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
          await assertMayChangeGroupOfAdministrators(trx, group, actor.roles, "change the roles of this group");
          if (await groups.grantRole(trx, group.id, role.id)) {
            await recordAudit(trx, actor, { action: "group.role.grant", target: groupTarget(group), details: { role: role.name } });
          }
        });
      } catch (error) {
        // The group was deleted between our read and our insert.
        throw isForeignKeyViolation(error) ? notFound("group", groupId) : error;
      }
    },

    /** Revokes a role from a group (idempotent); refused when no enabled system administrator would remain. */
    async revokeRole(actor: AdminActor, groupId: string, roleName: string, precondition: Precondition): Promise<void> {
      const role = await grantableRole(roleName, actor.roles);
      await db.transaction().execute(async (trx) => {
        await holdVersion(trx, "groups", groupId, precondition);
        const group = await requireGroup(groups, groupId, trx);
        await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
        await assertMayChangeGroupOfAdministrators(trx, group, actor.roles, "change the roles of this group");
        assertMayRevokeFrom(group, role.name);
        if (!(await groups.revokeRole(trx, group.id, role.id))) return;
        if (role.name === SYSTEM_ADMINISTRATOR) await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, { action: "group.role.revoke", target: groupTarget(group), details: { role: role.name } });
      });
    },

    /** Deletes a group; built-in groups and the last way to the system-administrator role are refused. */
    async remove(actor: AdminActor, uuid: string, precondition: Precondition): Promise<void> {
      await db.transaction().execute(async (trx) => {
        // No row lock first (a delete has no lost update to prevent): it would only add a lock upgrade
        // that deadlocks with concurrent membership changes on PostgreSQL.
        const group = await requireGroup(groups, uuid, trx);
        checkPrecondition(group, precondition);
        if (group.builtin) throw new DomainError("refused", "A built-in group cannot be deleted.", { group: group.name });
        await assertMayChangeAdministratorGroup(groups, trx, group, actor.roles);
        await assertMayChangeGroupOfAdministrators(trx, group, actor.roles, "delete this group");
        // Deleted meanwhile by another request (PostgreSQL lets both read it): that one says so, this one finds nothing.
        if (!(await groups.delete(trx, group.id))) throw notFound("group", uuid);
        // Asked after the delete: a provider or directory change naming the group either waited for it (and
        // finds the group gone) or committed first and is seen now; a refusal rolls the delete back.
        const namers = (await namedBy(trx, [group.uuid])).map((n) => n.by);
        if (namers.length > 0) throw new DomainError("refused", `The group "${group.name}" is named by ${namers.join(" and ")}: take it out there first.`, { group: group.name, namedBy: namers });
        await assertSystemAdministratorRemains(trx);
        await recordAudit(trx, actor, { action: "group.delete", target: groupTarget(group), details: { before: { name: group.name, description: group.description } } });
      });
    },
  };
}

/** Before/after of the fields that changed (for the audit log). */
function changedFields<T extends Record<string, unknown>>(before: T, after: T): { before: Partial<T>; after: Partial<T> } {
  const result = { before: {} as Partial<T>, after: {} as Partial<T> };
  for (const key of Object.keys(before) as (keyof T)[]) {
    if (before[key] !== after[key]) {
      result.before[key] = before[key];
      result.after[key] = after[key];
    }
  }
  return result;
}

export type GroupAdmin = ReturnType<typeof createGroupAdmin>;
