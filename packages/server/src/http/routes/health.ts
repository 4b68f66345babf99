import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import type { DirectoryProblem } from "../../storage/directory-queries.js";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { errorResponses } from "../schemas.js";
import { sharedWhileRunning } from "../shared-read.js";

/** A directory the last login or sync could not use, and why in a word (the details are in its sync run and the audit log, not here: this answer is public). */
const UnreachableDirectory = Type.Object({
  id: Type.String(),
  name: Type.String(),
  problem: Type.Union([Type.Literal("unreachable"), Type.Literal("insecure"), Type.Literal("bind-refused")], {
    description:
      "unreachable: no connection, or TLS failed; insecure: it answers only over a connection its configuration sends no passwords over (neither LDAPS nor StartTLS, allowUnencryptedPasswords not set); " +
      "bind-refused: it answers, but refuses the bind of the service account (bindDn, bindPassword: wrong, expired, locked there, or no bindPassword stored), so no user can be looked up or synced",
  }),
  // Named when "unreachable" was the only problem; renaming it would break the clients that read it.
  unreachableSince: Type.String({ format: "date-time", description: "Since when the directory has had this `problem`, whichever it is (`insecure` too: the name is from when `unreachable` was the only one); a change of problem starts it again" }),
});

const healthRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store, directories }) => {
  const check = sharedWhileRunning(async () => {
    try {
      await sql`select 1`.execute(store.db);
    } catch {
      throw new ApiError("unavailable", "The store cannot be reached.");
    }
    const unreachable = await directories.queries.unreachable();
    // A reason this node does not know (written by a newer one) is still a directory that cannot be used.
    const problemOf = (reason: string | null): DirectoryProblem["reason"] => (reason === "insecure" || reason === "bind-refused" ? reason : "unreachable");
    const listed = unreachable.map((d) => ({ id: d.uuid, name: d.name, problem: problemOf(d.unreachable_reason), unreachableSince: d.unreachable_since! }));
    return { status: "ok" as const, store: store.dialect.name, ...(listed.length > 0 ? { directories: listed } : {}) };
  });
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and store reachability",
        description: "`directories` lists the enabled directories that could not be used at the last login or sync through them (absent when all could), each with its `problem`: the service still answers, their users cannot log in.",
        tags: ["operations"],
        response: { 200: Type.Object({ status: Type.Literal("ok"), store: Type.String(), directories: Type.Optional(Type.Array(UnreachableDirectory)) }), ...errorResponses(503) },
      },
    },
    check,
  );
};

export default healthRoutes;
