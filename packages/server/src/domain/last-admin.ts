import type { ExpressionBuilder, Kysely } from "kysely";
import { DomainError } from "./errors.js";
import type { Database } from "../storage/schema.js";
import { isoNow } from "../storage/time.js";
import { SYSTEM_ADMINISTRATOR } from "./roles.js";

/** The columns of a user whose change can take away the last account that may log in as system administrator. */
export const ADMINISTRATOR_ACCESS_COLUMNS = ["enabled", "valid_from", "valid_to", "profile_id", "change_password"] as const;

/**
 * Call inside the transaction of any change that can leave nobody able to log in as system
 * administrator — revoking the role from a group, deleting a group, removing a membership, deleting a
 * user, changing one of ADMINISTRATOR_ACCESS_COLUMNS of a user (or a profile), or taking a way in away
 * (an API key, a link to an identity provider, a directory or a provider disabled or deleted) — after
 * making the change and before committing: throws a 409, rolling the change back, unless an account
 * that can log in now (enabled, inside its validity window, with a way in) still holds
 * system-administrator through its own groups or through an enabled profile's. `without`: as if the
 * users of that directory could no longer log in, and (`itsGroups`) its groups were gone — asked
 * before a directory's removal, which goes in batches.
 */
export async function assertSystemAdministratorRemains(db: Kysely<Database>, without?: { directoryId: number; itsGroups: boolean }): Promise<void> {
  // A no-op write on the role row: it locks the row until commit, so two concurrent changes that
  // each remove one of the last two administrators run one after the other and the second sees the
  // first (a plain read would let both pass on PostgreSQL). SQLite serializes writers anyway.
  await db.updateTable("roles").set((eb) => ({ essential: eb.ref("essential") })).where("name", "=", SYSTEM_ADMINISTRATOR).execute();
  const now = isoNow();
  const canLogIn = (eb: ExpressionBuilder<Database, "users">) =>
    eb.and([
      eb("users.enabled", "=", 1),
      ...(without ? [eb.or([eb("users.directory_id", "is", null), eb("users.directory_id", "!=", without.directoryId)])] : []),
      // A user of a disabled directory is let in by no way at all, its password, keys and links included (auth/sessions.ts directoryLetsIn).
      eb.or([eb("users.directory_id", "is", null), eb.exists(eb.selectFrom("directories").select("directories.id").whereRef("directories.id", "=", "users.directory_id").where("directories.enabled", "=", 1))]),
      eb.or([eb("users.valid_from", "is", null), eb("users.valid_from", "<=", now)]),
      eb.or([eb("users.valid_to", "is", null), eb("users.valid_to", ">=", now)]),
      // A way in: a password; else, unless a password change is due (it stops keys, directory and provider
      // logins with a 403 until done, and only a password of this store can be changed here), an enabled
      // directory to bind to, a link to an enabled identity provider, or an API key that has not expired.
      // A service account without keys, or a user without a password, counts for no one; nor does a
      // way in that a system administrator did not make (role-rules.ts madeBySystemAdministrator).
      eb.or([
        eb.and([eb("users.password_hash", "is not", null), eb("users.password_by_system_administrator", "=", 1)]),
        eb.and([
          eb("users.change_password", "=", 0),
          eb.or([
            eb.exists(eb.selectFrom("directories").select("directories.id").whereRef("directories.id", "=", "users.directory_id").where("directories.enabled", "=", 1).where("directories.by_system_administrator", "=", 1)),
            eb.exists(
              eb
                .selectFrom("federated_identities")
                .innerJoin("identity_providers", "identity_providers.id", "federated_identities.provider_id")
                .select("federated_identities.user_id")
                .whereRef("federated_identities.user_id", "=", "users.id")
                .where("identity_providers.enabled", "=", 1)
                .where("identity_providers.by_system_administrator", "=", 1)
                .where("federated_identities.by_system_administrator", "=", 1),
            ),
            eb.exists(
              eb
                .selectFrom("api_keys")
                .select("api_keys.user_id")
                .whereRef("api_keys.user_id", "=", "users.id")
                .where("api_keys.by_system_administrator", "=", 1)
                .where((k) => k.or([k("api_keys.expires_at", "is", null), k("api_keys.expires_at", ">", now)])),
            ),
          ]),
        ]),
      ]),
    ]);
  // Members of the groups that grant the role (few): each query starts there and follows an index.
  const members = db
    .selectFrom("group_roles")
    .innerJoin("roles", "roles.id", "group_roles.role_id")
    .innerJoin("group_members", "group_members.group_id", "group_roles.group_id")
    .where("roles.name", "=", SYSTEM_ADMINISTRATOR)
    .$if(without?.itsGroups === true, (q) => q.where("group_roles.group_id", "not in", db.selectFrom("groups").select("groups.id").where("groups.directory_id", "=", without!.directoryId)));
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
