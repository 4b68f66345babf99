import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startServerThread, type ThreadServer } from "../../test/server-thread.js";
import { ECM, ECMError, ECMSync, ECMValidationError, type ECMImportResult, type ImportUserRecord } from "../index.js";

let server: ThreadServer;
let ecm: ECM;
let dir: string;
before(async () => {
  server = await startServerThread();
  ecm = new ECM({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  await ecm.security.createGroup("sdk-imported");
  dir = mkdtempSync(join(tmpdir(), "ecm-sdk-import-"));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await server?.close();
});

/** Every result of an import, and the summary its iteration returns. */
async function drain<T, R>(results: AsyncGenerator<T, R>): Promise<{ rows: T[]; summary: R }> {
  const rows: T[] = [];
  for (let r = await results.next(); ; r = await results.next()) {
    if (r.done) return { rows, summary: r.value };
    rows.push(r.value);
  }
}

test("importUsers sends records while their results come back, in the SDK's names, and returns the summary", { timeout: 60_000 }, async () => {
  let answered: () => void = () => {};
  const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
  async function* records(): AsyncGenerator<ImportUserRecord> {
    // The server answers a batch (1 000 rows) when it commits: the last rows are sent only after that
    // answer arrived, so an upload that had to end before the answer could start would never finish.
    for (let i = 0; i < 1000; i++) yield { username: `sdk_imp_${i}`, remark: "first batch", groups: ["sdk-imported"] };
    const waited = await Promise.race([firstAnswer.then(() => "answered"), sleep(30_000, "no answer", { ref: false })]);
    assert.equal(waited, "answered", "results arrive while the upload is still open");
    yield { username: "sdk_imp_late", locked: true, validTo: new Date("2031-01-01T00:00:00Z") };
    yield { username: "bad name!" };
  }
  const rows: ECMImportResult[] = [];
  const results = ecm.security.importUsers(records());
  let summary;
  for (let r = await results.next(); ; r = await results.next()) {
    if (r.done) {
      summary = r.value;
      break;
    }
    rows.push(r.value);
    answered();
  }
  assert.deepEqual(summary, { created: 1001, updated: 0, unchanged: 0, failed: 1, dryRun: false });
  assert.deepEqual(rows.slice(0, 2).map((r) => [r.line, r.username, r.status]), [[1, "sdk_imp_0", "created"], [2, "sdk_imp_1", "created"]]);
  assert.match(rows[0]!.guid!, /^[0-9a-f-]{36}$/);
  const failed = rows.at(-1)!;
  assert.deepEqual([failed.line, failed.status, failed.error?.code, failed.error?.field], [1002, "failed", "ECMS1001", "username"]);
  const first = await ecm.security.user("sdk_imp_0");
  assert.deepEqual([first.remark, first.groups.slice().sort()], ["first batch", ["sdk-imported", "users"]]);
  const late = await ecm.security.user("sdk_imp_late");
  assert.deepEqual([late.locked, late.validTo?.toISOString()], [true, "2031-01-01T00:00:00.000Z"]);
});

test("importUsers reads a file by path (CSV by its name), bytes in NDJSON by their first character, and keeps dryRun and update=false", async () => {
  const file = join(dir, "users.csv");
  writeFileSync(file, "username,remark,locked\r\nsdk_csv_1,from a file,no\r\nsdk_imp_0,changed,\r\n");
  const dry = await drain(ecm.security.importUsers(file, { dryRun: true }));
  assert.deepEqual(dry.rows.map((r) => [r.line, r.status]), [[2, "created"], [3, "updated"]]);
  assert.equal(dry.summary.dryRun, true);
  await assert.rejects(ecm.security.user("sdk_csv_1"), /ECMS1201/);
  const createOnly = await drain(ecm.security.importUsers(file, { update: false }));
  assert.deepEqual(createOnly.rows.map((r) => [r.status, r.error?.code]), [["created", undefined], ["failed", "ECMS1301"]]);
  assert.equal((await ecm.security.user("sdk_imp_0")).remark, "first batch");
  const ndjson = [`{"username":"sdk_bytes_1","description":"as REST"}\n`, new TextEncoder().encode(`{"username":"sdk_bytes_2"}\n`)];
  const fromBytes = await drain(ecm.security.importUsers(ndjson));
  assert.deepEqual(fromBytes.rows.map((r) => r.status), ["created", "created"]);
  assert.equal((await ecm.security.user("sdk_bytes_1")).remark, "as REST");
});

test("importUsers reads a file in the charset it is given (or a Blob's type says), and refuses a charset for text or an unknown one", async () => {
  const file = join(dir, "excel.csv");
  writeFileSync(file, Buffer.from("username,displayName\r\nsdk_cp1252,Andr\xe9 \x80\r\n", "latin1"));
  const read = await drain(ecm.security.importUsers(file, { charset: "windows-1252" }));
  assert.deepEqual(read.rows.map((r) => r.status), ["created"]);
  assert.equal((await ecm.security.user("sdk_cp1252")).displayName, "André €");
  const blob = new Blob([Buffer.from("username,displayName\nsdk_blob_latin1,Jos\xe9\n", "latin1")], { type: "text/csv; charset=ISO-8859-1" });
  assert.deepEqual((await drain(ecm.security.importUsers(blob))).rows.map((r) => r.status), ["created"]);
  assert.equal((await ecm.security.user("sdk_blob_latin1")).displayName, "José");
  // Without it, the same file's bytes are not UTF-8: the row fails, saying so.
  const asUtf8 = await drain(ecm.security.importUsers(file, { dryRun: true }));
  assert.match(asUtf8.rows[0]!.error!.message, /not UTF-8/);
  for (const charset of ["latin-9000", "utf-16le", "UTF-16"]) {
    await assert.rejects(drain(ecm.security.importUsers(file, { charset })), (e: unknown) => e instanceof TypeError && (e as Error).message.startsWith(`charset "${charset}" names no character encoding the server reads`));
  }
  await assert.rejects(drain(ecm.security.importUsers([{ username: "sdk_x" }], { charset: "windows-1252" })), (e: unknown) => e instanceof TypeError && /charset is of bytes/.test((e as Error).message));
  await assert.rejects(drain(ecm.security.importUsers(["username\nsdk_x\n"], { charset: "windows-1252" })), (e: unknown) => e instanceof TypeError && /charset is of bytes/.test((e as Error).message));
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.deepEqual([...sync.security.importUsers(file, { charset: "windows-1252", dryRun: true })].map((r) => r.status), ["unchanged"]);
  } finally {
    sync.close();
  }
});

test("importUsers reads a Keycloak realm export from a Blob, a file (ECMSync too) and bytes in another charset; its password hashes log in", async () => {
  const salt = randomBytes(16);
  const credentials = [{ type: "password", secretData: JSON.stringify({ value: pbkdf2Sync("Café-Passw0rd", salt, 1000, 32, "sha256").toString("base64"), salt: salt.toString("base64") }), credentialData: JSON.stringify({ hashIterations: 1000, algorithm: "pbkdf2-sha256" }) }];
  const text = JSON.stringify({ realm: "r", users: [{ username: "sdk_kc_josé", credentials, groups: ["/sdk-imported"] }, { username: "sdk_kc_two", enabled: false }] }, null, 2);
  const blob = await drain(ecm.security.importUsers(new Blob([text]), { dryRun: true }));
  assert.deepEqual(blob.rows.map((r) => [r.line, r.username, r.status]), [[1, "sdk_kc_josé", "created"], [2, "sdk_kc_two", "created"]]);
  const file = join(dir, "realm-export.json");
  writeFileSync(file, Buffer.from(text, "latin1"));
  assert.deepEqual((await drain(ecm.security.importUsers(file, { charset: "iso-8859-1" }))).rows.map((r) => r.status), ["created", "created"]);
  assert.deepEqual((await ecm.security.user("sdk_kc_josé")).groups.sort(), ["sdk-imported", "users"]);
  assert.equal((await ecm.security.user("sdk_kc_two")).locked, true);
  assert.equal((await new ECM({ baseUrl: server.baseUrl, username: "sdk_kc_josé", password: "Café-Passw0rd" }).security.me()).username, "sdk_kc_josé");
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    writeFileSync(file, text);
    assert.deepEqual([...sync.security.importUsers(file, { update: true })].map((r) => r.status), ["unchanged", "unchanged"]);
  } finally {
    sync.close();
  }
});

test("importUsers reads an export or a Keycloak realm export by its first bytes whatever its name, type or format says", async () => {
  const realm = JSON.stringify({ realm: "r", users: [{ username: "sdk_kc_named" }] }, null, 2);
  const exported = `${JSON.stringify({ kind: "exportedAt", exportedAt: "2026-01-01T00:00:00Z" })}\n${JSON.stringify({ kind: "users", username: "sdk_not_user" })}\n`;
  const named = join(dir, "realm.ndjson");
  writeFileSync(named, realm);
  for (const source of [named, new Blob([realm], { type: "application/x-ndjson" })]) {
    assert.deepEqual((await drain(ecm.security.importUsers(source, { dryRun: true }))).rows.map((r) => [r.line, r.username, r.status]), [[1, "sdk_kc_named", "created"]]);
  }
  assert.deepEqual((await drain(ecm.security.importUsers([realm], { dryRun: true, format: "ndjson" }))).rows.map((r) => r.status), ["created"]);
  const isExport = (e: unknown) => e instanceof ECMValidationError && /this is an export of the security system/.test(e.message);
  writeFileSync(named, exported);
  for (const source of [named, new Blob([exported], { type: "application/x-ndjson" })]) await assert.rejects(drain(ecm.security.importUsers(source, { dryRun: true })), isExport);
  await assert.rejects(drain(ecm.security.importUsers([exported], { dryRun: true, format: "ndjson" })), isExport);
});

test("importUsers: a malformed Keycloak realm export says what is wrong: an argon2 cost that is missing or no whole number, users that are no array, a realm that is no name", async () => {
  const argon2 = (parameters: Record<string, string[]>, hashIterations: unknown = 3) => [{ type: "password", secretData: JSON.stringify({ value: "AAAA", salt: "AAAAAAAAAAAAAAAAAAAAAA==" }), credentialData: JSON.stringify({ hashIterations, algorithm: "argon2", additionalParameters: { type: ["id"], version: ["1.3"], ...parameters } }) }];
  const realm = (users: unknown, name: unknown = "r") => [JSON.stringify({ realm: name, users }, null, 2)];
  const { rows } = await drain(ecm.security.importUsers(realm([
    { username: "sdk_kc_nomem", credentials: argon2({ parallelism: ["1"] }) },
    { username: "sdk_kc_nopar", credentials: argon2({ memory: ["7168"] }) },
    { username: "sdk_kc_badmem", credentials: argon2({ memory: ["7168.5"], parallelism: ["1"] }) },
    { username: "sdk_kc_baditer", credentials: argon2({ memory: ["7168"], parallelism: ["1"] }, 2.5) },
  ]), { dryRun: true }));
  assert.deepEqual(rows.map((r) => [r.username, r.status, r.error?.field, r.error?.message]), [
    ["sdk_kc_nomem", "failed", "credentials", "the argon2 password credential has no memory (additionalParameters.memory, a whole number of KiB)"],
    ["sdk_kc_nopar", "failed", "credentials", "the argon2 password credential has no parallelism (additionalParameters.parallelism, a whole number)"],
    ["sdk_kc_badmem", "failed", "credentials", 'the argon2 password credential\'s memory is "7168.5", not a positive whole number of KiB'],
    ["sdk_kc_baditer", "failed", "credentials", "the password credential's hashIterations is 2.5, not a positive whole number"],
  ]);
  const refused = (message: string) => (e: unknown) => e instanceof ECMValidationError && e.message === message;
  await assert.rejects(drain(ecm.security.importUsers(realm({ username: "sdk_kc_one" }))), refused("importUsers: the Keycloak export's users are not an array (an object): a realm export lists its users in [ ]"));
  await assert.rejects(drain(ecm.security.importUsers(realm([{ username: "sdk_kc_five" }], 5))), refused("importUsers: the JSON document's realm is not a name (a string): 5"));
});

test("importUsers: a missing file, a bad CSV header and a failing source are errors of the call", async () => {
  // The same error from both clients, saying which file.
  const missing = join(dir, "missing.csv");
  const unreadable = (e: unknown) => e instanceof ECMError && e.message === `importUsers: cannot read the file ${JSON.stringify(missing)} (ENOENT)`;
  await assert.rejects(drain(ecm.security.importUsers(missing)), unreadable);
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => [...sync.security.importUsers(missing)], unreadable);
  } finally {
    sync.close();
  }
  await assert.rejects(drain(ecm.security.importUsers(["nickname\nx\n"], { format: "csv" })), (e: unknown) => e instanceof ECMValidationError && e.code === "ECMS1001" && /nickname/.test(e.message));
  async function* failing(): AsyncGenerator<ImportUserRecord> {
    yield { username: "sdk_before_failure" };
    await sleep(10);
    throw new Error("the source broke");
  }
  await assert.rejects(drain(ecm.security.importUsers(failing())), /the source broke/);
  // A CSV that breaks after its first rows: they are imported and given, then the error, typed by its code.
  const rows: ECMImportResult[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of ecm.security.importUsers(['username\nsdk_before_quote\n"never closed\n'], { format: "csv" })) rows.push(r);
    })(),
    (e: unknown) => e instanceof ECMValidationError && e.code === "ECMS1001" && e.status === 400 && /unterminated quoted field/.test(e.message),
  );
  assert.deepEqual(rows.map((r) => [r.username, r.status]), [["sdk_before_quote", "created"]]);
  // A JSON array (what `ecm users list -o json` writes) that is broken is said where, not cut short as if it ended there.
  for (const [text, where] of [
    ['[{"username":"sdk_arr_a"}}, {"username":"sdk_arr_b"}]', /has a \} that closes nothing \(line 1\)/],
    ['[{"username":"sdk_arr_c"}]\n{"username":"sdk_arr_d"}', /has more after its closing \] \(line 2\)/],
    ['[{"username":"sdk_arr_e"},\n{"username":"sdk_arr_f', /ends inside a string/],
    ['[{"username":"sdk_arr_g"}', /ends before its closing \]/],
  ] as const) {
    await assert.rejects(drain(ecm.security.importUsers([text])), (e: unknown) => e instanceof ECMValidationError && where.test(e.message), text);
  }
  const { summary } = await drain(ecm.security.importUsers(['\uFEFF [ {"username":"sdk_arr_h"} ,\n"x"] \n']));
  assert.deepEqual([summary.created, summary.failed], [1, 1]);
});

test("importUsers: a record the SDK refuses (an unknown field, a flag that is not a boolean) is a failed row in its place; the rest are imported", async () => {
  const records: ImportUserRecord[] = Array.from({ length: 1500 }, (_, i) => ({ username: `sdk_many_${i}` }));
  records.splice(1200, 0, { username: "sdk_bad_flag", locked: "no" } as unknown as ImportUserRecord);
  records.splice(3, 0, { username: "sdk_typo", shoeSize: 44 } as ImportUserRecord, { username: "sdk_rest_name", enabled: true } as ImportUserRecord, { remark: "no name" } as ImportUserRecord);
  records.push({ username: "sdk_long_remark", remark: "y".repeat(1025) });
  const { rows, summary } = await drain(ecm.security.importUsers(records));
  assert.deepEqual(summary, { created: 1500, updated: 0, unchanged: 0, failed: 5, dryRun: false });
  assert.deepEqual(rows.map((r) => r.line), Array.from({ length: 1505 }, (_, i) => i + 1), "every record answered once, in order");
  const failed = rows.filter((r) => r.status === "failed").map((r) => [r.line, r.username, r.error?.code, r.error?.field, r.error?.message]);
  assert.deepEqual(failed, [
    [4, "sdk_typo", "ECMS1001", "shoeSize", 'unknown user field "shoeSize"'],
    [5, "sdk_rest_name", "ECMS1001", "enabled", 'unknown user field "enabled"; use locked (inverted)'],
    [6, undefined, "ECMS1001", "username", "an import record needs a username"],
    [1204, "sdk_bad_flag", "ECMS1001", "locked", "locked must be true or false"],
    // The server's refusal, in the name the record gave (remark, not description).
    [1505, "sdk_long_remark", "ECMS1001", "remark", "remark must be at most 1024 characters long."],
  ]);
  assert.equal((await ecm.security.user("sdk_many_1499")).username, "sdk_many_1499");
  // Bytes keep the server's names: a CSV's column is named as its header named it.
  const csv = await drain(ecm.security.importUsers([`username,description\nsdk_csv_long,${"y".repeat(1025)}\n`], { format: "csv" }));
  assert.deepEqual([csv.rows[0]!.error?.field, csv.summary.failed], ["description", 1]);
});

/** Every result of a blocking import, and the summary its iteration returns. */
function drainSync<T, R>(results: Generator<T, R>): { rows: T[]; summary: R } {
  const rows: T[] = [];
  for (let r = results.next(); ; r = results.next()) {
    if (r.done) return { rows, summary: r.value };
    rows.push(r.value);
  }
}

test("ECMSync.importUsers: a generator's records handed over piece by piece, a file by path, bytes; stopping early ends the request", () => {
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    let pulled = 0;
    function* records(): Generator<ImportUserRecord> {
      for (let i = 0; i < 1200; i++, pulled++) yield { username: `sync_imp_${i}`, remark: "sync", groups: i % 2 ? ["sdk-imported"] : [] };
    }
    const all = drainSync(sync.security.importUsers(records()));
    assert.equal(pulled, 1200);
    assert.deepEqual(all.summary, { created: 1200, updated: 0, unchanged: 0, failed: 0, dryRun: false });
    assert.deepEqual([all.rows[0]!.line, all.rows.at(-1)!.line, all.rows.at(-1)!.username], [1, 1200, "sync_imp_1199"]);
    assert.deepEqual(sync.security.user("sync_imp_1").groups.slice().sort(), ["sdk-imported", "users"]);

    const file = join(dir, "sync.csv");
    writeFileSync(file, "username,locked\nsync_csv_1,yes\nsync_imp_0,\n");
    const dry = drainSync(sync.security.importUsers(file, { dryRun: true, update: false }));
    assert.deepEqual(dry.rows.map((r) => [r.line, r.status, r.error?.code]), [[2, "created", undefined], [3, "failed", "ECMS1301"]]);
    const bytes = drainSync(sync.security.importUsers(new TextEncoder().encode('{"username":"sync_bytes","enabled":false}\n')));
    assert.deepEqual(bytes.rows.map((r) => r.status), ["created"]);
    assert.equal(sync.security.user("sync_bytes").locked, true);

    // A caller that stops after the first result: the request ends, the next import works.
    for (const _ of sync.security.importUsers(records())) break;
    assert.equal(drainSync(sync.security.importUsers([{ username: "sync_after_break" }])).summary.created, 1);
    const refused = drainSync(sync.security.importUsers([{ username: "sync_typo", remark: "x", shoeSize: 1 } as ImportUserRecord, { username: "sync_after_typo", changePwd: "true" } as unknown as ImportUserRecord, { username: "sync_fine" }]));
    assert.deepEqual(refused.rows.map((r) => [r.line, r.status, r.error?.field]), [[1, "failed", "shoeSize"], [2, "failed", "changePwd"], [3, "created", undefined]]);
    assert.equal(refused.summary.failed, 2);
  } finally {
    sync.close();
  }
});

test("importUsers refuses an option it does not take, or a flag that is not a boolean, before anything is imported, for both clients", async () => {
  // `dry_run` (the seed's spelling) dropped would import for real; `update: "false"` would update.
  await assert.rejects(drain(ecm.security.importUsers([{ username: "sdk_imp_dry" }], { dry_run: true } as never)), (e: unknown) => e instanceof TypeError && e.message === 'unknown option "dry_run"; use dryRun');
  await assert.rejects(drain(ecm.security.importUsers([{ username: "sdk_imp_dry" }], { update: "false" } as never)), (e: unknown) => e instanceof TypeError && e.message === "update must be true or false");
  // A format it does not know would be sent as the content type "undefined", or dropped for records.
  for (const format of ["CSV", "json", "tsv"]) {
    await assert.rejects(drain(ecm.security.importUsers(new TextEncoder().encode("username\nsdk_imp_dry\n"), { dryRun: true, format } as never)), (e: unknown) => e instanceof TypeError && e.message === 'format must be "csv" or "ndjson", or left out');
    await assert.rejects(drain(ecm.security.importUsers([{ username: "sdk_imp_dry" }], { format } as never)), (e: unknown) => e instanceof TypeError && e.message === 'format must be "csv" or "ndjson", or left out');
  }
  const sync = new ECMSync({ baseUrl: server.baseUrl, username: "sysadmin", password: server.adminPassword });
  try {
    assert.throws(() => [...sync.security.importUsers([{ username: "sdk_imp_dry" }], { dry_run: true } as never)], (e: unknown) => e instanceof TypeError && /use dryRun/.test((e as Error).message));
    assert.throws(() => [...sync.security.importUsers([{ username: "sdk_imp_dry" }], { dryRun: 1 } as never)], /dryRun must be true or false/);
    assert.throws(() => [...sync.security.importUsers([{ username: "sdk_imp_dry" }], { format: "json" } as never)], /format must be "csv" or "ndjson"/);
    // What only ECM's importUsers reads: said, not "source[Symbol.iterator] is not a function".
    async function* records(): AsyncGenerator<ImportUserRecord> {
      yield { username: "sdk_imp_dry" };
    }
    for (const source of [records(), new Blob(["username\nsdk_imp_dry\n"], { type: "text/csv" }), new ReadableStream<Uint8Array>(), 42]) {
      assert.throws(() => [...sync.security.importUsers(source as never, { dryRun: true })], (e: unknown) => e instanceof TypeError && e.message === "ECMSync's importUsers takes a file path, bytes or an iterable (of byte chunks, strings or records); a Blob, a stream or an async iterable goes to ECM's importUsers");
    }
  } finally {
    sync.close();
  }
  assert.equal(await ecm.security.countUsers({ search: "sdk_imp_dry" }), 0);
});
