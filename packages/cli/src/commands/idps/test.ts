import type { ECMIdentityProviderTest } from "ecm-sdk";
import { arg, noMoreArgs } from "../../args.js";
import type { Command } from "../../command.js";
import { ExitCode } from "../../errors.js";

const TEST_COLUMNS = ["ok", "message", "steps"];

/** On a table, a line a step; the other formats get the answer as it is. */
const tableRow = (t: ECMIdentityProviderTest) => ({ ...t, steps: t.steps.map((s) => `${s.step} ${s.ok ? "ok" : "FAILED"}: ${s.message}`) });

export const test: Command = {
  path: ["idps", "test"],
  args: "<alias>",
  summary: "read the provider's keys and check that it takes this service's client id and secret (exit 1 when not)",
  async run(ctx) {
    const alias = arg(ctx, 0, "alias");
    noMoreArgs(ctx, 1);
    const result = await ctx.ecm().security.testIdentityProvider(alias);
    ctx.out(TEST_COLUMNS, ctx.format === "table" ? tableRow(result) : { ...result });
    return result.ok ? ExitCode.ok : ExitCode.error;
  },
};
