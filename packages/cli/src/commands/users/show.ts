import { toUserSource, type ECMLockout, type ECMUserSource, type RestUser } from "ecm-sdk";
import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findUser, profileName } from "../../lookup.js";
import { textCells } from "../../output.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";

/** "locked out until …", "2 failed logins", or both. */
function standing(l: { lockedOutUntil: Date | null; failedLogins: number }): string {
  const until = l.lockedOutUntil && `locked out until ${l.lockedOutUntil.toISOString()}`;
  const failed = l.failedLogins > 0 && `${l.failedLogins} failed login${l.failedLogins === 1 ? "" : "s"}`;
  return [until, failed].filter(Boolean).join(" and ");
}

/** On a table or CSV, a phrase for the account-wide lockout and one for each address; JSON and NDJSON get the answer as it is. */
function lockoutText(l: ECMLockout): string[] {
  const account = standing(l);
  return [
    ...(account ? [`unfamiliar addresses ${account}`] : []),
    ...l.addresses.map((a) => `${a.address} ${standing(a)}${a.lastLoginAt ? ` (last login ${a.lastLoginAt.toISOString()})` : ""}`),
  ];
}

/** On a table or CSV: "local", "directory Corp AD", "identity-provider corp (Corp SSO)". */
function sourceText(s: ECMUserSource): string {
  if (s.type === "directory") return `directory ${s.name}`;
  if (s.type === "identity-provider") return `identity-provider ${s.id} (${s.name})`;
  return s.type;
}

export const show: Command = {
  path: ["users", "show"],
  args: "<user>",
  summary: "show one user (by username or guid): groups, where it comes from (directory and DN, identity providers), lockouts after failed logins",
  async run(ctx) {
    const ref = arg(ctx, 0, "user");
    const u = await findUser(ctx, ref);
    // `lockedOut` is the account-wide lockout only: an address locked out of the account (the user's own, say) shows here.
    const [lockout, rest, profile] = await Promise.all([
      ctx.ecm().security.lockout(u.guid),
      // Where it comes from, and what users create/update set that the seed's user has no field for: one read of the REST user.
      ctx.ecm().request<RestUser>("GET", `/security/v1/users/${encodeURIComponent(u.guid)}`, { query: { extendedInfo: true } }),
      // `profileId` is a number: the profile by name beside it.
      profileName(ctx, u.profileId),
    ]);
    const source = toUserSource(rest);
    const table = textCells(ctx.format);
    ctx.out([...USER_EXTENDED_COLUMNS, "profile", "firstName", "lastName", "changePwd", "neverExpire", "source", "dn", "federatedIdentities", "lockout"], {
      ...userRow(u),
      profile,
      firstName: rest.firstName,
      lastName: rest.lastName,
      changePwd: rest.changePassword === true,
      neverExpire: rest.passwordNeverExpires === true,
      source: table ? sourceText(source) : { type: source.type, id: source.id, name: source.name },
      dn: source.dn,
      // null when none, as the REST field of that name (the seed's rule).
      federatedIdentities: table ? source.federatedIdentities.map((f) => `${f.alias} (${f.displayName})`) : source.federatedIdentities.length > 0 ? source.federatedIdentities : null,
      lockout: table ? lockoutText(lockout) : lockout,
    });
  },
};
