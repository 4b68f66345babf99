import { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { Type } from "typebox";
import { recordAudit } from "../../domain/audit.js";
import { DomainError } from "../../domain/errors.js";
import { DryRunCarry } from "../../domain/import-dry-run.js";
import { isoNow } from "../../storage/time.js";
import { ADMINISTRATOR_ROLES } from "../../domain/roles.js";
import { createUserImporter, type ImportItem, type ImportResult, type ImportUser } from "../../domain/user-import.js";
import { adminActorOf, authOf, forbidden, refusalOfAccountAsLeft } from "../auth-guard.js";
import type { AppDeps } from "../deps.js";
import { continueBody, longUpload } from "../connections.js";
import { clientWentAway } from "../error-handling.js";
import { ApiError, ErrorCodes, fromDomainError } from "../errors.js";
import { csvRecords, ndjsonRecords, type InputRecord } from "../import-formats.js";
import { declaredCharset, importEncoding } from "../charset.js";
import { errorResponses } from "../schemas.js";
import { bounded, describeValidation, validatorCompiler } from "../validation.js";
import { NewUserFields } from "./users.js";

/** Rows per transaction: large enough that a batch's statements cost little per row, small enough to answer often. */
const BATCH_ROWS = 1000;
/** The longest a row waits for its batch to fill before it is committed and answered. */
const BATCH_WAIT_MS = 1000;

/** A row of an import: the fields of a new user, plus an existing hash and the groups by name. */
const ImportRow = Type.Object(
  {
    ...NewUserFields,
    passwordHash: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "A hash in PHC format: argon2id, argon2i, bcrypt, pbkdf2-sha256, pbkdf2-sha512; one dearer to check than the ceiling (argon2 m ≤ 65536, p ≤ 8, m×t ≤ 196608 or the configured cost; bcrypt cost 12; PBKDF2-SHA256 600000, PBKDF2-SHA512 210000 iterations) fails its row" })),
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000, description: "Group names; all of the user's own groups (`users` is always kept)" })),
  },
  { additionalProperties: false },
);

const checkRow = validatorCompiler({ schema: ImportRow, httpPart: "body", method: "POST", url: "/security/v1/users/import" }) as ((data: unknown) => boolean) & {
  errors?: Parameters<typeof describeValidation>[0] | null;
};

const FORMATS: Record<string, (body: AsyncIterable<Buffer>, encoding: string) => AsyncGenerator<InputRecord>> = {
  "application/x-ndjson": ndjsonRecords,
  "application/jsonl": ndjsonRecords,
  "text/csv": csvRecords,
};

/** An input record as an import item: the row checked against the same field rules as POST /users. */
function itemOf(record: InputRecord): ImportItem {
  if ("problem" in record) return { line: record.line, username: record.username, error: new DomainError("invalid", record.problem, record.field === undefined ? {} : { field: record.field }) };
  if (!checkRow(record.fields)) {
    // In the same words as POST /users would use for the same fields.
    const { message, info } = describeValidation(checkRow.errors ?? [], "body");
    delete info.in;
    const username = typeof record.fields.username === "string" ? record.fields.username : undefined;
    return { line: record.line, username, error: new DomainError("invalid", message, info) };
  }
  const user = record.fields as unknown as ImportUser;
  // White space around a group's name is no part of it (no group's name has any).
  if (user.groups) user.groups = user.groups.map((name) => name.trim());
  // Dropped, a name left empty would leave the user out of the group it was meant to be: with no other, out of all of them.
  const empty = user.groups?.indexOf("") ?? -1;
  if (empty >= 0) {
    const message = `groups holds a name that is empty or only white space (name ${empty + 1} of ${user.groups!.length}): name each group, or leave groups out to keep the user's own.`;
    return { line: record.line, username: user.username, error: new DomainError("invalid", message, { field: "groups" }) };
  }
  return { line: record.line, user, ...(record.ref ? { ref: record.ref } : {}) };
}

/** One NDJSON line of the answer; a field a CSV's header names otherwise is said by that name (`named`, field → header). */
function resultLine(result: ImportResult, named: ReadonlyMap<string, string> | undefined): string {
  const { error, ...rest } = result;
  if (!error) return `${JSON.stringify(rest)}\n`;
  const api = fromDomainError(error);
  let { message } = api;
  const info: Record<string, unknown> = { ...api.info };
  const header = typeof info.field === "string" ? named?.get(info.field) : undefined;
  if (header !== undefined) {
    // The validation's words begin with the field: "description must be at most 1024 characters long."
    if (message.startsWith(`${info.field} `)) message = header + message.slice((info.field as string).length);
    info.field = header;
  }
  return `${JSON.stringify({ ...rest, error: { code: api.code, message, ...info } })}\n`;
}

/**
 * Batches of at most `size` items. A batch is also handed on `maxWaitMs` after its first item came,
 * full or not: the rows of a slow upload are committed and answered while it goes on, so a cut
 * upload loses only the rows of its last second, each unanswered. The items are read ahead (one
 * batch at most) by a loop of their own, so a timer can end a batch without a race on every item.
 */
async function* batches<T>(items: AsyncIterable<T>, size: number, maxWaitMs: number): AsyncGenerator<T[]> {
  let queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let due = false;
  let timer: NodeJS.Timeout | undefined;
  /** The taker stopped (the import failed, the answer was closed): the reader stops too, closing `items`. */
  let stopped = false;
  /** The batch's taker, waiting for it to fill, come due or end. */
  let wake: (() => void) | undefined;
  /** The reader, waiting for a full batch to be taken. */
  let room: (() => void) | undefined;
  const signal = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  void (async () => {
    try {
      for await (const item of items) {
        if (stopped) break;
        queue.push(item);
        if (queue.length === 1) timer = setTimeout(() => ((due = true), signal()), maxWaitMs);
        if (queue.length >= size) {
          signal();
          await new Promise<void>((resolve) => (room = resolve));
          if (stopped) break;
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      signal();
    }
  })();
  try {
    for (;;) {
      while (!failure && !done && !due && queue.length < size) await new Promise<void>((resolve) => (wake = resolve));
      // The rows read before the input went wrong are imported and answered first; then the failure ends it.
      if (failure && queue.length === 0) throw failure.error;
      due = false;
      if (queue.length === 0) {
        if (done) return;
        continue;
      }
      const batch = queue;
      queue = [];
      clearTimeout(timer);
      room?.();
      room = undefined;
      yield batch;
    }
  } finally {
    stopped = true;
    clearTimeout(timer);
    room?.();
  }
}

/** Bulk import of users (NDJSON or CSV), answered row by row as each batch commits. */
const usersImportRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { config, store, hasher, guard, passwordPolicy, users }) => {
  const importer = createUserImporter(store, hasher, passwordPolicy);
  /** Imports of this process answering now (ECM_IMPORTS_AT_ONCE). */
  let running = 0;
  // The body is read as it arrives, by the route: any size, never all in memory.
  app.addContentTypeParser(Object.keys(FORMATS), (_request, payload, done) => done(null, payload));

  app.post(
    "/security/v1/users/import",
    {
      onRequest: guard(...ADMINISTRATOR_ROLES),
      config: { accepts: Object.keys(FORMATS) },
      // The body is a stream of rows, each checked by `itemOf`: its schema documents a row, it checks nothing here.
      validatorCompiler: (part) => (part.httpPart === "body" ? () => true : validatorCompiler(part)),
      schema: {
        summary: "Import users",
        description: [
          "Creates or updates (by username) the users of an NDJSON (`application/x-ndjson`: a JSON object a line) or CSV (`text/csv`: a header row naming the fields; separated by commas, or by what a first line `sep=;` names, as Excel writes it; rows of empty cells skipped) body, of any size.",
          "A row has the fields of `POST /security/v1/users`, plus `passwordHash` (an existing hash in PHC format: argon2id, argon2i, bcrypt, pbkdf2-sha256, pbkdf2-sha512; replaced by a current argon2id hash at the user's next login) and `groups` (names, white space around each ignored, a name empty once trimmed a failed row; in CSV separated by `;`, a `;` or `\\` inside a name written `\\;`, `\\\\`), all of the user's own groups (`users` is always kept).",
          "The body is read in the charset its Content-Type declares (`text/csv; charset=windows-1252`, as spreadsheets save CSV), UTF-8 when it declares none; a row with bytes that charset does not have fails.",
          "Fields left out keep their value on an update. Each batch of rows is one transaction.",
          "The answer is NDJSON, a line per row as its batch commits — `{\"line\",\"username\",\"status\":\"created|updated|unchanged|failed\",\"id\",\"error\":{\"code\",\"message\",…}}` — and a last line `{\"summary\":{…}}`; a failure that ends the import early is a last line `{\"error\":{…}}`.",
          "With `dryRun=true` every row is checked and written as in a real import, and all of it rolled back; with `update=false` a user that exists is a failed row instead of updated.",
          "The body may take longer to arrive than the request timeout (`ECM_REQUEST_TIMEOUT_SECONDS`) as long as it keeps coming at `ECM_UPLOAD_MIN_BYTES_PER_SECOND`; a slower upload is cut with a last line `{\"error\":{\"code\":\"ECMS1006\",…}}`.",
        ].join(" "),
        tags: ["users"],
        querystring: Type.Object({
          dryRun: Type.Optional(Type.Boolean({ default: false, description: "Check everything, change nothing" })),
          update: Type.Optional(Type.Boolean({ default: true, description: "Update users that exist; false: such a row fails (ECMS1301) and the user is left as it is" })),
        }),
        body: Type.Object(ImportRow.properties, {
          description: "A row: a JSON object a line (NDJSON), or a CSV record under a header naming these fields (`groups` separated by `;`, a `;` or `\\` inside a name written `\\;`, `\\\\`).",
          additionalProperties: false,
        }),
        consumes: Object.keys(FORMATS),
        produces: ["application/x-ndjson"],
        response: {
          200: Type.String({
            description: "NDJSON: a result per row, then a summary",
            examples: ['{"line":2,"username":"jdoe","status":"created","id":"82576381-e765-4645-a697-782111f8f5b5"}\n{"summary":{"created":1,"updated":0,"unchanged":0,"failed":0,"dryRun":false}}\n'],
          }),
          ...errorResponses(400, 408, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      const parse = FORMATS[type];
      if (!parse) throw new ApiError("unsupportedMediaType", `Send the users as application/x-ndjson or text/csv, not ${type || "no content type"}.`, { contentType: type });
      const charset = declaredCharset(request.headers["content-type"]);
      const encoding = importEncoding(charset);
      if (encoding === undefined) throw new ApiError("unsupportedMediaType", `This server reads no ${bounded(charset!)} charset: send the file as UTF-8, or name its charset as the Encoding Standard does (windows-1252, iso-8859-15, shift_jis…).`, { charset: bounded(charset!) });
      // Each import holds up to a batch of rows (64 KB each at most) and its answer's: their number is what bounds the memory.
      if (config.importsAtOnce > 0 && running >= config.importsAtOnce) {
        throw new ApiError("unavailable", `${running} imports are running on this server already; send this one again when one of them has finished.`, { retryAfterSeconds: 5 });
      }
      running++;
      reply.raw.once("close", () => running--);
      continueBody(reply.raw);
      const actor = adminActorOf(request);
      const dryRun = request.query.dryRun ?? false;
      const update = request.query.update ?? true;
      // The content-type parser left the body unread: it is read here, held to a rate rather than a deadline.
      const records = parse(longUpload(request.raw, reply.raw, config.connections), encoding);
      // The first row is read before answering, so a bad CSV header is a 400 rather than a line of the stream.
      const first = await records.next();
      const counts = { created: 0, updated: 0, unchanged: 0, failed: 0 };
      /** A CSV's header names for fields it names otherwise: its rows' errors say them so. */
      let named: ReadonlyMap<string, string> | undefined;

      /** Why the import ended before its summary; its last `user.import` event says so with the counts. */
      let ended: string | undefined = "the client went away";

      /**
       * A dry run's earlier batches may have disabled its caller, made its password change due, or taken
       * its administrator role away (its groups): the real import would stop there, and so does the dry run.
       */
      const carriedRefusal = async (carry: DryRunCarry | undefined) => {
        const left = carry?.leftOf(authOf(request).user.username);
        if (!left) return null;
        const refusal = refusalOfAccountAsLeft(left.row, isoNow());
        if (refusal) return refusal;
        const held = await users.roleNamesThrough(left.groupIds, left.row.profile_id);
        return held.some((role) => (ADMINISTRATOR_ROLES as readonly string[]).includes(role)) ? null : forbidden(ADMINISTRATOR_ROLES);
      };

      async function* answer(): AsyncGenerator<string> {
        // A dry run's batches are each rolled back: what the earlier ones would have written is carried to the later ones.
        const options = { dryRun, update, carry: dryRun ? new DryRunCarry() : undefined };
        const answeredBefore = dryRun ? "the rows answered before this line were checked, and nothing was imported." : "the rows answered before this line are imported.";
        let settled = false;
        // The batches' search entries wait in a long pending list (PostgreSQL): merged before the summary,
        // and also when the import fails or its client goes away (finally), not by the next single write.
        const settle = async () => {
          if (settled || dryRun || counts.created + counts.updated === 0) return;
          settled = true;
          await store.dialect.settleBulkWrites(store.db);
        };
        try {
          const all = (async function* () {
            if (!first.done) yield first.value;
            yield* records;
          })();
          for await (const batch of batches(all, BATCH_ROWS, BATCH_WAIT_MS)) {
            // Asked before each batch: a client gone would never learn what was written, and a caller who
            // may no longer import (logged out, disabled, a role removed, the key revoked) gets no batch
            // more, on any node. The answer just written may have met the client gone: a turn of the event
            // loop lets its socket say so first (a batch of SQLite's, written without one, never did).
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (request.raw.socket?.destroyed) return;
            const refusal = (await authOf(request).refusalNow()) ?? (await carriedRefusal(options.carry));
            if (refusal) {
              ended = refusal.message;
              yield `${JSON.stringify({ error: { code: refusal.code, message: `${refusal.message.replace(/\.$/, "")}; ${answeredBefore}` } })}\n`;
              return;
            }
            // With the roles the caller holds now: one removed since the import began no longer counts.
            for (const r of batch) if ("fields" in r && r.named) named = r.named;
            const results = await importer.importBatch(adminActorOf(request), batch.map(itemOf), options);
            for (const r of results) counts[r.status]++;
            yield results.map((r) => resultLine(r, named)).join("");
          }
          ended = undefined;
          if (!dryRun) await recordAudit(store.db, actor, { action: "user.import", details: counts });
          await settle();
          yield `${JSON.stringify({ summary: { ...counts, dryRun } })}\n`;
        } catch (error) {
          // The status is sent: the failure is the last line (rows answered before it are committed).
          const api = error instanceof ApiError ? error : error instanceof DomainError ? fromDomainError(error) : undefined;
          // A client that went away mid-upload (its request aborted or reset) is no fault of ours: noted, not an error.
          const gone = !api && clientWentAway(error, request.raw);
          if (gone) request.log.info("the client went away during an import");
          else if (!api) request.log.error({ err: error }, "import failed");
          ended = api?.message ?? (gone ? "the client went away" : "an internal error");
          const { code } = api ?? ErrorCodes.internal;
          yield `${JSON.stringify({ error: { code, message: api?.message ?? `An internal error occurred; ${answeredBefore}` } })}\n`;
        } finally {
          if (ended !== undefined && !dryRun) {
            await recordAudit(store.db, actor, { action: "user.import", outcome: "failure", details: { ...counts, ended } }).catch((err: unknown) => request.log.error({ err }, "the import's last audit event could not be written"));
          }
          await settle();
          options.carry?.close();
        }
      }
      // Sent as it is made: the schema's string documents the body, it does not serialize it.
      return (reply as FastifyReply).type("application/x-ndjson; charset=utf-8").send(Readable.from(answer()));
    },
  );
};

export default usersImportRoutes;
