/** Users and groups named on the command line: by guid, or by username / group name. */
import { isGuid, type ECMGroup, type ECMUser } from "ecm-sdk";
import type { Ctx } from "./command.js";

export async function findUser(ctx: Ctx, ref: string): Promise<ECMUser<true>> {
  const sec = ctx.ecm().security;
  return isGuid(ref) ? sec.getUser(ref) : sec.user(ref);
}

export async function findGroup(ctx: Ctx, ref: string): Promise<ECMGroup> {
  const sec = ctx.ecm().security;
  return isGuid(ref) ? sec.getGroup(ref) : sec.group(ref);
}
