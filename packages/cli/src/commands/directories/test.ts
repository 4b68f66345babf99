import type { ECMDirectoryTest } from "ecm-sdk";
import type { Command } from "../../command.js";
import { ExitCode, namingSecretOptions, UsageError } from "../../errors.js";
import { textCells, type Row } from "../../output.js";
import { BIND_PASSWORD_OPTIONS, DIRECTORY_OPTION_HELP, DIRECTORY_OPTIONS, findDirectory, newDirectoryFields } from "./fields.js";

const TEST_COLUMNS = ["ok", "message", "server", "steps", "usersFound", "sample"];

/** On a table or CSV, a step and a sample user in words each; JSON and NDJSON get the answer as it is. */
const tableRow = (t: ECMDirectoryTest): Row => ({
  ...t,
  // Listed with ", " on a table: a step's own full stop would read ".,".
  steps: t.steps.map((s) => `${s.step} ${s.ok ? "ok" : "FAILED"}: ${s.message.replace(/\.$/, "")}`),
  usersFound: t.usersFound === null ? null : `${t.usersFound}${t.usersFoundCapped ? " or more" : ""}`,
  sample: t.sample.map((u) => `${u.username} (${u.dn})`),
});

export const test: Command = {
  path: ["directories", "test"],
  args: "[<directory>]",
  summary: "connect, bind and search as a sync would, and say what happened (exit 1 when it failed)",
  options: DIRECTORY_OPTIONS,
  optionHelp: ["Without <directory>: tests the configuration the options give (as for create), saving nothing.", ...DIRECTORY_OPTION_HELP],
  async run(ctx) {
    const ref = ctx.args[0];
    const optionsGiven = Object.keys(ctx.values).some((k) => k in DIRECTORY_OPTIONS);
    if (ref !== undefined && optionsGiven) throw new UsageError("test a stored <directory> or the configuration given by options, not both");
    const sec = ctx.ecm().security;
    let result: ECMDirectoryTest;
    if (ref !== undefined) result = await sec.testDirectory((await findDirectory(ctx, ref)).id);
    else {
      const fields = await newDirectoryFields(ctx, "test");
      result = await namingSecretOptions(sec.testDirectoryConfig(fields), "bindPassword", Boolean(fields.bindPassword), BIND_PASSWORD_OPTIONS);
    }
    ctx.out(TEST_COLUMNS, textCells(ctx.format) ? tableRow(result) : { ...result });
    return result.ok ? ExitCode.ok : ExitCode.error;
  },
};
