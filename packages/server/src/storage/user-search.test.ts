import assert from "node:assert/strict";
import { before, it } from "node:test";
import { CompiledQuery } from "kysely";
import { searchFold, searchTextFor } from "../domain/user-fields.js";
import { recording } from "../test-support/recording.js";
import { describeEachStore } from "../test-support/server.js";
import { seedStore } from "../tools/seed-data.js";
import pg from "pg";
import { rebuildUserSearch } from "./dialect/postgres/search-buckets.js";
import { userDocumentsQuery } from "./dialect/postgres/user-documents.js";
import { documentBatchQuery } from "./dialect/sqlite/user-documents.js";
import type { Config } from "../config.js";
import type { Store } from "./store.js";
import { createUserQueries, type UserFilter } from "./user-queries.js";

/** Users whose names hold the characters a search must take literally. */
const SPECIAL_NAMES: [string, string][] = [
  ["Per%cent", "Wild_card"],
  ["Back\\slash", "O'Quote"],
  ['Double"Quote', "Müller"],
  ["MÜLLER", "ÆRØ"],
  ["Zoë", "Ζωή"],
];

const NEEDLES = [
  "müller", "MÜLLER", "Müll", "mull", "ü", "%", "_", "\\", "'", '"', "a", "e", "ø", "ζ", "ł", "er", "ał", "1", "@", ".",
  "example.com", "außendienst", "ζωή", "łukasz", "son", "smith", "zz", "qx", "zzqxj", "no such user", "r%c", "d_c",
];

/** The search semantics, by brute force: folded substring of the joined fields, in code-point order of the username. */
function bruteForce(all: { username: string; search_text: string; enabled: number }[], needle: string, filter: UserFilter = {}) {
  const folded = searchFold(needle);
  return all
    .filter((u) => u.search_text.includes(folded) && (filter.enabled === undefined || u.enabled === (filter.enabled ? 1 : 0)))
    .map((u) => u.username)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

describeEachStore("users search, paging and counts at scale", (server) => {
  let store: Store;
  let all: { username: string; search_text: string; enabled: number }[];

  before(async () => {
    store = server().server.deps.store;
    await seedStore(store, { users: 3000, seed: 7, passwordHash: "not-a-login" });
    const now = new Date().toISOString();
    for (const [i, [first, last]] of SPECIAL_NAMES.entries()) {
      const fields = { username: `special${i}`, first_name: first, last_name: last, email: `special${i}@example.com` };
      await store.db
        .insertInto("users")
        .values({ ...fields, uuid: `00000000-0000-4000-8000-00000000000${i}`, password_by_system_administrator: 1, login_name: fields.username, login_key: fields.username, display_name: `${first} ${last}`, created_at: now, updated_at: now, search_text: searchTextFor(fields) })
        .execute();
    }
    // Small buckets, so PostgreSQL's ordered search crosses many of them (and the insert trigger splits some).
    if (store.dialect.name === "postgres") await rebuildUserSearch(store.db, 40);
    await store.dialect.analyze(store.db);
    all = await store.db.selectFrom("users").select(["username", "search_text", "enabled"]).execute();
  });

  it("finds exactly what a brute-force filter finds, in username order, on every plan", async () => {
    // Small limits drive every path: collecting index hits, walking, walking then reading hits in order
    // (several chunks; with other filters), and walking, reading in order, then collecting.
    const plans = [
      undefined,
      { probeCap: 20, walkRows: 50, walkFirstMaxLimit: 100, orderedChunk: 1000, orderedChunks: 3 },
      { probeCap: 0, walkRows: 60, walkFirstMaxLimit: 100, orderedChunk: 7, orderedChunks: 6 },
      { probeCap: 0, walkRows: 1, walkFirstMaxLimit: 100, orderedChunk: 3, orderedChunks: 1 },
    ];
    for (const limits of plans) {
      const users = createUserQueries(store, limits);
      for (const needle of NEEDLES) {
        const expected = bruteForce(all, needle);
        const page = await users.listPage({ search: needle }, undefined, 100);
        assert.deepEqual(page.map((u) => u.username), expected.slice(0, 100), `search ${JSON.stringify(needle)} with ${JSON.stringify(limits)}`);
        assert.equal(await users.count({ search: needle }), expected.length, `count ${JSON.stringify(needle)}`);
        const disabled = bruteForce(all, needle, { enabled: false });
        const pageDisabled = await users.listPage({ search: needle, enabled: false }, undefined, 30);
        assert.deepEqual(pageDisabled.map((u) => u.username), disabled.slice(0, 30), `disabled ${JSON.stringify(needle)}`);
        assert.equal(await users.count({ search: needle, enabled: false }), disabled.length);
      }
      // Keyset pages put together give the whole result, whatever the page boundaries.
      for (const needle of ["er", "ø", "smith"]) {
        for (const enabled of [undefined, false]) {
          const collected: string[] = [];
          for await (const batch of users.listAll({ search: needle, enabled }, undefined, enabled === false ? 7 : 37)) collected.push(...batch.map((u) => u.username));
          assert.deepEqual(collected, bruteForce(all, needle, { enabled }), `all of ${needle}, enabled ${enabled}`);
        }
      }
    }
  });

  it("folds Unicode case and takes wildcards, quotes and backslashes literally (over HTTP)", async () => {
    const s = server();
    const token = await s.login();
    const usernames = async (search: string) => {
      const r = await s.api("GET", `/security/v1/users?max=100&search=${encodeURIComponent(search)}`, { token });
      assert.equal(r.status, 200, r.text);
      return (r.body as { username: string }[]).map((u) => u.username);
    };
    assert.ok((await usernames("müller")).includes("special2"));
    assert.ok((await usernames("MÜLLER")).includes("special3"));
    assert.ok(!(await usernames("mull")).includes("special2"), "diacritics are not stripped");
    assert.deepEqual(await usernames("r%c"), ["special0"]);
    assert.deepEqual(await usernames("d_c"), ["special0"]);
    assert.deepEqual(await usernames("k\\s"), ["special1"]);
    assert.deepEqual(await usernames("o'q"), ["special1"]);
    assert.deepEqual(await usernames('e"q'), ["special2"]);
    assert.deepEqual(await usernames("ζωή"), bruteForce(all, "ζωή").slice(0, 100));
    assert.deepEqual(await usernames("zzqxj"), []);
    const count = await s.api("GET", `/security/v1/users/count?search=${encodeURIComponent("ÆRØ")}`, { token });
    assert.equal(count.body, bruteForce(all, "ærø").length);
  });

  it("reads a page of a thousand (a bulk run's, an export's) for a 1–2 character needle by the index, not by walking rows", async () => {
    const { store: recorded, take } = recording(store);
    const users = createUserQueries(recorded);
    const walk = store.db.selectFrom("users").select("users.id").where(store.dialect.userSearchMatches("er")).compile().sql.replace(/^.* where /, "");
    const middle = bruteForce(all, "e")[400]!;
    for (const [needle, after] of [["er", undefined], ["e", middle]] as const) {
      const page = await users.listPage({ search: needle }, after, 1000);
      assert.deepEqual(page.map((u) => u.username), bruteForce(all, needle).filter((u) => after === undefined || Buffer.compare(Buffer.from(u), Buffer.from(after)) > 0).slice(0, 1000));
      const walked = take().filter((q) => q.sql.includes(walk));
      assert.deepEqual(walked.map((q) => q.sql), [], `search ${needle}: rows walked`);
    }
  });

  it("serves every list, search and count from an index: no statement that runs scans a table or a whole index (EXPLAIN)", async () => {
    const { store: recorded, take } = recording(store);
    const users = createUserQueries(recorded);
    const middle = [...all].sort((a, b) => Buffer.compare(Buffer.from(a.username), Buffer.from(b.username)))[1500]!.username;
    type Work = [what: string, run: () => Promise<unknown>, search: boolean];
    const work: Work[] = [
      ["first page", () => users.listPage({}, undefined, 101), false],
      ["page after a cursor", () => users.listPage({}, middle, 101), false],
      ["first page as JSON", () => users.listPageJson({}, undefined, 101, true), false],
      ["JSON page after a cursor", () => users.listPageJson({}, middle, 101, true), false],
      ["a search's page as JSON", () => users.listPageJson({ search: "son" }, middle, 101, true), true],
      ["a search with a filter, after a cursor", () => users.listPage({ search: "er", enabled: false }, middle, 101), true],
      ["count all", () => users.count({}), false],
      ...["a", "er", "ø", "qx", "smith", "müller", "zzqxj", "example.com"].flatMap((needle): Work[] => [
        [`search ${needle}`, () => users.listPage({ search: needle }, undefined, 101), true],
        [`search ${needle} after a cursor`, () => users.listPage({ search: needle }, middle, 101), true],
      ]),
      ...["ø", "qx", "son", "smith", "zzqxj", "example.com"].map((needle): Work => [`count ${needle}`, () => users.count({ search: needle }), true]),
    ];
    const explainer = await planReader(store, server().server.deps.config.store);
    const allowedUsed = new Set<AllowedScan>();
    try {
      for (const [what, run, search] of work) {
        await run();
        const queries = take();
        assert.ok(queries.length > 0, `${what}: no query recorded`);
        for (const query of queries) {
          const { scans, plans } = await explainer.scans(query, search);
          for (const scan of scans) {
            const allowed = ALLOWED_SCANS.find((a) => a.store === store.dialect.name && a.work.test(what) && a.alias === scan.alias);
            if (allowed) allowedUsed.add(allowed);
            else assert.fail(`${what}: a full scan of ${scan.alias} (${scan.detail})\n${query.sql}\n${plans.join("\n")}`);
          }
        }
      }
    } finally {
      await explainer.close();
    }
    // An exception nothing needs any more is dropped from the list.
    assert.deepEqual(ALLOWED_SCANS.filter((a) => a.store === store.dialect.name && !allowedUsed.has(a)), []);
  });

  it("streams the kept documents in username order from their index (EXPLAIN)", async () => {
    const now = new Date().toISOString();
    const middle = all[1500]!.username;
    if (store.dialect.name === "sqlite") {
      const query = documentBatchQuery(middle, true, now, 1000).compile(store.db);
      const plan = (await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]))).rows.map((r) => r.detail).join("\n");
      assert.match(plan, /SEARCH d USING PRIMARY KEY \(username>\?\)/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    } else {
      // As postgresUserDocuments runs it.
      const plan = await store.dialect.withIndexPlans(store.db, async (db) =>
        (await db.executeQuery<{ "QUERY PLAN": string }>(CompiledQuery.raw(`explain ${userDocumentsQuery(middle, true, now, pg.escapeLiteral)}`))).rows.map((r) => r["QUERY PLAN"]).join("\n"));
      assert.match(plan, /Index Scan using user_documents_username/, plan);
      assert.doesNotMatch(plan, /Sort|Seq Scan/, plan);
    }
  });
});

/**
 * A full scan (of a table, or of a whole index) that the design accepts where an index lookup is
 * promised elsewhere, with its reason. The test fails on any other, and on an entry no case needs.
 */
interface AllowedScan {
  store: "sqlite" | "postgres";
  /** The cases (by name) it is allowed in. */
  work: RegExp;
  /** The table as the plan names it (its alias in the statement). */
  alias: string;
  reason: string;
}

const ALLOWED_SCANS: AllowedScan[] = [
  ...(["sqlite", "postgres"] as const).map((store) => ({ store, work: /^count all$/, alias: "user_count", reason: "one row: the number of all users, kept by triggers" })),
  {
    store: "sqlite",
    work: /^count (ø|qx)$/,
    alias: "users",
    reason:
      "a 1–2 character needle is counted by instr over the narrow search_text index (dialect countSearch: about 0.1 s at a million users; " +
      "counting it from the trigram index would read the posting list of every trigram it starts). PostgreSQL keeps these counts (user_search_grams).",
  },
];

interface Scan {
  alias: string;
  detail: string;
}

/**
 * Reads the plans of the statements a recorded query runs, and finds their full scans: a table
 * read row by row, or an index read from end to end (a walk in index order that a LIMIT stops is
 * not one). SQLite: EXPLAIN QUERY PLAN of the statement. PostgreSQL: the statement is run with
 * auto_explain, which also reports the statements run inside functions (the ordered search is one).
 */
async function planReader(store: Store, config: Config["store"]): Promise<PlanReader> {
  if (config.kind === "sqlite") {
    return {
      async scans(query) {
        const rows = (await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]))).rows;
        const plans = rows.map((r) => r.detail);
        // An ordered walk that a LIMIT stops: no sort after it. (SQLite names a walk in primary key order `SCAN t`.)
        const stoppedWalk = /\border by\b[^()]*\blimit\b/i.test(query.sql) && !plans.some((d) => d.includes("TEMP B-TREE FOR ORDER BY"));
        const scans: Scan[] = [];
        for (const detail of plans) {
          const table = /^SCAN (\S+)(?: USING (?:COVERING )?INDEX \S+)?$/.exec(detail);
          if (table && !stoppedWalk) scans.push({ alias: table[1]!, detail });
          // FTS5 names each constraint it uses (M: MATCH; = < >: rowid); fts5vocab sets bits for a term range (0x100 =, 0x200 ≥, 0x400 ≤).
          const virtual = /^SCAN (\S+) VIRTUAL TABLE INDEX (\d+):(.*)$/.exec(detail);
          if (virtual && !/[M=<>]/.test(virtual[3]!) && (Number(virtual[2]) & 0x700) === 0) scans.push({ alias: virtual[1]!, detail });
        }
        return { scans, plans };
      },
      close: async () => {},
    };
  }
  // auto_explain sends the plan of every statement run, nested ones too, to this client as a notice.
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  const notices: string[] = [];
  client.on("notice", (n) => notices.push(n.message ?? ""));
  for (const setting of ["load 'auto_explain'", "set auto_explain.log_min_duration = 0", "set auto_explain.log_nested_statements = on", "set auto_explain.log_format = json", "set auto_explain.log_level = notice"]) {
    await client.query(setting);
  }
  return {
    async scans(query, search) {
      notices.length = 0;
      // As the store runs a search (dialect withIndexPlans).
      if (search) await client.query("begin; set local enable_seqscan = off");
      await client.query(query.sql, [...query.parameters]);
      if (search) await client.query("commit");
      const plans = notices.map((n) => JSON.parse(n.slice(n.indexOf("{"))) as { "Query Text": string; Plan: PgPlanNode });
      const scans: Scan[] = [];
      const visit = (node: PgPlanNode, limited: boolean) => {
        const alias = node.Alias ?? node["Relation Name"] ?? "?";
        if (node["Node Type"] === "Seq Scan") scans.push({ alias, detail: `Seq Scan on ${node["Relation Name"]} ${alias}` });
        // An index read without a condition is a walk of the whole index unless a Limit above stops it.
        if (/^Index (Only )?Scan$/.test(node["Node Type"]) && !node["Index Cond"] && !limited) scans.push({ alias, detail: `${node["Node Type"]} using ${node["Index Name"]} without a condition or a limit` });
        for (const child of node.Plans ?? []) visit(child, limited || node["Node Type"] === "Limit");
      };
      for (const plan of plans) visit(plan.Plan, false);
      return { scans, plans: plans.map((p) => `${p["Query Text"]}\n${JSON.stringify(p.Plan)}`) };
    },
    close: () => client.end(),
  };
}

interface PgPlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Alias?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Plans?: PgPlanNode[];
}

interface PlanReader {
  /** The full scans in the plans of the statements `query` runs, and those plans (for the message). */
  scans(query: CompiledQuery, search: boolean): Promise<{ scans: Scan[]; plans: string[] }>;
  close(): Promise<void>;
}

