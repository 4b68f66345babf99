import type { Kysely } from "kysely";
import { isUniqueViolation } from "../storage/constraints.js";
import type { GroupFieldsInput, GroupQueries } from "../storage/group-queries.js";
import type { Database, GroupRow } from "../storage/schema.js";
import type { Store } from "../storage/store.js";
import { recordAudit, type Actor, groupTarget } from "./audit.js";
import { DomainError, staleVersion } from "./errors.js";
import { assertSystemAdministratorRemains } from "./last-admin.js";
import { requireGroup } from "./lookups.js";
import { assertVisibleName, normalizeName } from "./names.js";
import { assertMayChangeAdministratorGroup, assertMayChangeGroupOfAdministrators } from "./role-rules.js";
import type { AdminActor } from "./users.js";
import { checkPrecondition, readForChange, type Precondition } from "./versioned.js";

/** The fields of a group a change may set; absent fields keep their value. */
export interface GroupChanges {
  name?: string;
  description?: string | null;
}

const nameTaken = (name: string) => new DomainError("name-taken", "A group with this name already exists.", { name });

/** The rules of creating, changing and deleting groups. Every change is one transaction with its audit event. */
export function createGroupAdmin({ db }: Store, groups: GroupQueries) {
  /** Runs `work` in a transaction; a unique-index violation (a racing writer took the name) is name-taken. */
  async function transaction<T>(name: string, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      throw isUniqueViolation(error) ? nameTaken(name) : error;
    }
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
      assertVisibleName("name", input.name);
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
        if (renamed) {
          assertVisibleName("name", changes.name!);
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
        await groups.delete(trx, group.id);
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
