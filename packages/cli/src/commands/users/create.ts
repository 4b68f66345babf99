import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { readPassword } from "../../prompt.js";
import { USER_EXTENDED_COLUMNS, userRow } from "../../rows.js";
import { USER_FIELD_HELP, USER_FIELD_OPTIONS, userFieldsFrom } from "./fields.js";

export const create: Command = {
  path: ["users", "create"],
  args: "<username>",
  summary: "create a user",
  options: { ...USER_FIELD_OPTIONS, "password-stdin": { type: "boolean" }, "service-account": { type: "boolean" }, group: { type: "string", short: "g", multiple: true } },
  optionHelp: [
    ...USER_FIELD_HELP,
    ["--password-stdin", "read an initial password from standard input (else ECM_NEW_PASSWORD; none: cannot log in)"],
    ["--service-account", "a service account: no password (ECM_NEW_PASSWORD is not read), API keys only"],
    ["-g, --group NAME", "also add to this group (repeatable)"],
  ],
  async run(ctx) {
    const username = arg(ctx, 0, "username");
    const fields = userFieldsFrom(ctx.values);
    const serviceAccount = ctx.values["service-account"] === true;
    let password: string | undefined;
    // A service account takes no password: ECM_NEW_PASSWORD is for the other users a script creates, and
    // one given with --password-stdin is sent for the server to refuse, not dropped.
    if (ctx.values["password-stdin"] || (!serviceAccount && ctx.io.env.ECM_NEW_PASSWORD)) password = await readPassword(ctx, "ECM_NEW_PASSWORD", "");
    const sec = ctx.ecm().security;
    const groups = (ctx.values.group as string[] | undefined) ?? [];
    const resolved = [];
    for (const g of groups) resolved.push(await findGroup(ctx, g));
    let u = await sec.createUser(username, { ...fields, ...(password !== undefined ? { password } : {}), ...(serviceAccount ? { serviceAccount } : {}) });
    for (const g of resolved) {
      try {
        await sec.addUserToGroup(u.guid, g.guid);
      } catch (error) {
        // Said with what was done: a rerun would find the user there already.
        ctx.note(`The user ${u.username} was created, but not added to ${g.name}.`);
        throw error;
      }
    }
    if (resolved.length > 0) u = await sec.getUser(u.guid);
    ctx.out(USER_EXTENDED_COLUMNS, userRow(u));
  },
};
