import type { RestAuditEvent } from "ecm-sdk";
import { str } from "../../args.js";
import type { Command } from "../../command.js";
import { UsageError } from "../../errors.js";

const COLUMNS = ["id", "time", "actor", "action", "targetType", "targetName", "outcome", "sourceAddress", "count", "details"];

/** The most events one page of the audit log holds. */
const PAGE_MAX = 1000;

export const list: Command = {
  path: ["audit", "list"],
  args: "",
  summary: "list audit events, newest first: who changed what, logins and failed logins",
  options: {
    actor: { type: "string" },
    target: { type: "string" },
    action: { type: "string" },
    "target-type": { type: "string" },
    failures: { type: "boolean" },
    from: { type: "string" },
    to: { type: "string" },
    max: { type: "string", short: "n" },
  },
  optionHelp: [
    ["--actor USERNAME", "only what this user did (in any case; a user deleted since too)"],
    ["--target TARGET", "only events about this target: an id, or a name it had (in any case)"],
    ["--action ACTION", "only this action (user.create, auth.login, …: the whole name)"],
    ["--target-type TYPE", "only targets of this type (user, group, …)"],
    ["--failures", "only refusals and failures (failed logins, …)"],
    ["--from TIME, --to TIME", "only events at or after / before this time (ISO 8601; a date alone is its midnight UTC)"],
    ["-n, --max N", "at most N events (default 100)"],
  ],
  async run(ctx) {
    const v = ctx.values;
    const given = str(v, "max") ?? "100";
    if (!/^[1-9]\d{0,8}$/.test(given)) throw new UsageError(`--max: not a positive whole number: ${given}`);
    const max = Number(given);
    const filter = { actor: str(v, "actor"), target: str(v, "target"), action: str(v, "action"), targetType: str(v, "target-type"), outcome: v.failures ? ("failure" as const) : undefined, from: str(v, "from"), to: str(v, "to") };
    const events: RestAuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const page = await ctx.ecm().admin.auditEvents(filter, { max: Math.min(PAGE_MAX, max - events.length), cursor });
      events.push(...page.items);
      cursor = page.next;
    } while (cursor !== null && events.length < max);
    ctx.list(COLUMNS, events.map((e) => ({ ...e })));
  },
};
