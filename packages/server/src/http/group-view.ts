import { Type, type Static } from "typebox";
import type { GroupRow, RoleRow } from "../storage/schema.js";
import { Nullable } from "./schemas.js";

/** A group as the REST API shows it. */
export const GroupSchema = Type.Object(
  {
    id: Type.String({ description: "Object ID of the group (UUID)" }),
    numericId: Type.Integer({ description: "Serial number (the SDK's `id`)" }),
    name: Type.String(),
    path: Type.String({ description: "`/name`" }),
    dn: Nullable(Type.String({ description: "Distinguished name; null unless imported from a directory" })),
    description: Nullable(Type.String()),
    builtin: Type.Boolean({ description: "Built-in groups cannot be deleted or renamed" }),
    essential: Type.Boolean(),
    external: Type.Boolean({ description: "Imported from a directory" }),
    profileUserId: Type.Integer({ description: "-1, or the numericId of the profile user the group belongs to" }),
    syncedBy: Type.Optional(Type.String({ description: "Read-only; only in a user's groups: the directory whose sync made this membership (it changes there, not here)" })),
    mappedBy: Type.Optional(Type.String({ description: "Read-only; only in a user's groups: the identity provider (alias) whose group mapping made this membership at a login (its next login adds or removes it again)" })),
    systemAdministratorMember: Type.Optional(
      Type.Boolean({
        description:
          "Read-only; only in the answers about one group (create, get, update), not in lists. Whether a user who holds system-administrator is in the group, " +
          "itself or through its profile: then only a system administrator may rename or delete it or change its roles",
      }),
    ),
  },
  {
    $id: "Group",
    examples: [{ id: "5d0f2b8e-3c1a-4f6e-9a7b-2e4c6d8f0a1b", numericId: 3, name: "staff", path: "/staff", dn: null, description: "Everyone on the payroll", builtin: false, essential: false, external: false, profileUserId: -1, systemAdministratorMember: false }],
  },
);

export type GroupView = Static<typeof GroupSchema>;

export function toGroupView(row: GroupRow): GroupView {
  return {
    id: row.uuid,
    numericId: row.id,
    name: row.name,
    path: `/${row.name}`,
    dn: row.dn,
    description: row.description,
    builtin: row.builtin === 1,
    essential: row.essential === 1,
    external: row.external === 1,
    profileUserId: row.profile_user_id,
  };
}

/** A role as the REST API shows it. */
export const RoleSchema = Type.Object(
  {
    id: Type.String({ description: "Object ID of the role (UUID)" }),
    name: Type.String(),
    description: Nullable(Type.String()),
    builtin: Type.Boolean(),
    essential: Type.Boolean(),
  },
  { $id: "Role", examples: [{ id: "0b7e4a52-6f1d-4c39-8e2a-9d5b3c7f1e60", name: "security-administrator", description: "Manages users, groups, role mappings, directories and identity providers", builtin: true, essential: true }] },
);

export type RoleView = Static<typeof RoleSchema>;

export function toRoleView(row: RoleRow): RoleView {
  return { id: row.uuid, name: row.name, description: row.description, builtin: row.builtin === 1, essential: row.essential === 1 };
}
