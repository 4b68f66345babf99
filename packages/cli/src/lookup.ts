/** Users and groups named on the command line: by guid, or by username / group name. */
import { ECMNotFoundError, isGuid, type ECMGroup, type ECMUser } from "ecm-sdk";
import type { Ctx } from "./command.js";
import { CliError, ExitCode } from "./errors.js";

export async function findUser(ctx: Ctx, ref: string): Promise<ECMUser<true>> {
  const sec = ctx.ecm().security;
  if (!isGuid(ref)) return sec.user(ref);
  return oneOf("user", ref, await Promise.all([orNone(sec.getUser(ref)), orNone(sec.user(ref))]), (u) => u.username);
}

export async function findGroup(ctx: Ctx, ref: string): Promise<ECMGroup> {
  const sec = ctx.ecm().security;
  if (!isGuid(ref)) return sec.group(ref);
  return oneOf("group", ref, await Promise.all([orNone(sec.getGroup(ref)), orNone(sec.group(ref))]), (g) => g.name);
}

/**
 * A function from a group's guid to its name, for the groups a configuration names by guid (an identity
 * provider's, a directory's): a person reads names. A guid no group has (deleted since) stays a guid.
 */
export async function groupNamer(ctx: Ctx, guids: readonly string[]): Promise<(guid: string) => string> {
  const distinct = [...new Set(guids)];
  const groups = await Promise.all(distinct.map((guid) => orNone(ctx.ecm().security.getGroup(guid))));
  const names = new Map(distinct.map((guid, i) => [guid, groups[i]?.name ?? guid]));
  return (guid) => names.get(guid) ?? guid;
}

/** A function from a `profileId` (a user's, a group's `profileUserId`) to the profile's username; null for none (-1) and for a profile itself (0). */
export async function profileNamer(ctx: Ctx): Promise<(profileId: number) => string | null> {
  // Profiles are few: read once, each found by its numeric id among them (the API finds users by guid or name only).
  const profiles = await ctx.ecm().security.users({ profileId: 0 });
  const names = new Map(profiles.map((p) => [p.id, p.username]));
  return (profileId) => names.get(profileId) ?? null;
}

/** The username of the profile a `profileId` names (profileNamer's, for one). */
export async function profileName(ctx: Ctx, profileId: number): Promise<string | null> {
  return profileId <= 0 ? null : (await profileNamer(ctx))(profileId);
}

/** A name may be shaped like a guid: what `ref` names as a guid and as a name, the same object or one of them; two are refused, never one picked. */
function oneOf<T extends { guid: string }>(kind: string, ref: string, [byGuid, byName]: [T | undefined, T | undefined], nameOf: (o: T) => string): T {
  if (byGuid && byName && byGuid.guid !== byName.guid) {
    throw new CliError(`${ref} is the guid of the ${kind} ${nameOf(byGuid)} and the name of another ${kind}: give ${nameOf(byGuid)} for the first, ${byName.guid} for the other`, ExitCode.usage);
  }
  const found = byGuid ?? byName;
  if (!found) throw new ECMNotFoundError(`no ${kind} has the guid or the name ${ref}`, { status: 404 });
  return found;
}

async function orNone<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof ECMNotFoundError) return undefined;
    throw error;
  }
}
