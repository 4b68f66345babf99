import type { ECMIdentityProviderTest } from "ecm-sdk";
import { arg } from "../../args.js";
import type { Command } from "../../command.js";
import { ExitCode } from "../../errors.js";
import { textCells } from "../../output.js";

const TEST_COLUMNS = ["ok", "message", "steps"];

/** On a table or CSV, a step in words each; JSON and NDJSON get the answer as it is. */
const tableRow = (t: ECMIdentityProviderTest) => ({ ...t, steps: t.steps.map((s) => `${s.step} ${s.ok ? "ok" : "FAILED"}: ${s.message}`) });

export const test: Command = {
  path: ["idps", "test"],
  args: "<alias>",
  summary: "read the provider's keys and check that it takes this service's client id and secret (exit 1 when not)",
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    const result = await ctx.ecm().security.testIdentityProvider(alias);
    ctx.out(TEST_COLUMNS, textCells(ctx.format) ? tableRow(result) : { ...result });
    return result.ok ? ExitCode.ok : ExitCode.error;
  },
};
