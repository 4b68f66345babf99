import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Type } from "typebox";
import type { AppDeps } from "../deps.js";
import { ApiError } from "../errors.js";
import { errorResponses } from "../schemas.js";

const healthRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { store }) => {
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and store reachability",
        tags: ["operations"],
        response: { 200: Type.Object({ status: Type.Literal("ok"), store: Type.String() }), ...errorResponses(503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(store.db);
      } catch {
        throw new ApiError("unavailable", "The store cannot be reached.");
      }
      return { status: "ok" as const, store: store.dialect.name };
    },
  );
};

export default healthRoutes;
