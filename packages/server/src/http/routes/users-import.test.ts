import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Algorithm, hash } from "@node-rs/argon2";
import { hash as bcryptHash, hashSync as bcryptHashSync } from "@node-rs/bcrypt";
import { configFromEnv } from "../../config.js";
import { createSecurityAdministrator, groupId } from "../../test-support/accounts.js";
import { insertUser, pendingSearchPages } from "../../test-support/fixtures.js";
import { describeEachStore, startTestServer, type TestServer } from "../../test-support/server.js";

type Line = { line?: number; username?: string; status?: string; id?: string; error?: { code: string; message: string; field?: string }; summary?: Record<string, number | boolean> };

async function importUsers(server: TestServer, token: string, body: string, type = "application/x-ndjson", query = ""): Promise<{ status: number; lines: Line[]; text: string }> {
  const r = await server.api("POST", `/security/v1/users/import${query}`, { token, body, headers: { "content-type": type } });
  const lines = r.status === 200 ? r.text.trim().split("\n").map((l) => JSON.parse(l) as Line) : [];
  return { status: r.status, lines, text: r.text };
}

const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n";

/**
 * Rows sent in pieces, each piece a batch of its own: the next piece is sent once every row sent so far
 * is answered (a batch ends a second after its first row and is answered once committed), or the answer
 * ended. A pause instead cut batches differently on a busy machine. `between` runs before each next piece.
 */
async function importInPieces(server: TestServer, token: string, pieces: unknown[][], query = "", between: () => Promise<void> = async () => {}): Promise<Line[]> {
  const { port } = new URL(server.baseUrl);
  const lines: Line[] = [];
  let ended = false;
  let heard = () => {};
  const answered = async (rows: number) => {
    while (!ended && lines.filter((l) => l.line !== undefined).length < rows) await new Promise<void>((resolve) => (heard = resolve));
  };
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: Number(port), path: `/portal/security/v1/users/import${query}`, method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
        const complete = text.lastIndexOf("\n") + 1;
        lines.push(...text.slice(0, complete).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line));
        text = text.slice(complete);
        heard();
      });
      res.on("end", () => {
        ended = true;
        heard();
        resolve(lines);
      });
    });
    req.on("error", reject);
    void (async () => {
      let sent = 0;
      for (const [k, piece] of pieces.entries()) {
        if (k > 0) {
          await answered(sent);
          if (ended) break;
          await between();
        }
        req.write(ndjson(piece));
        sent += piece.length;
      }
      req.end();
    })().catch(reject);
  });
}

describeEachStore("bulk import", (server) => {
  let token: string;
  const user = async (username: string) => {
    const r = await server().api("GET", `/security/v1/users?search=${encodeURIComponent(username)}&extendedInfo=true`, { token });
    return (r.body as { username: string; groups: string[]; [k: string]: unknown }[]).find((u) => u.username === username);
  };

  it("creates users with their groups and answers a line per row, then a summary", async () => {
    token = await server().login();
    assert.equal((await server().api("POST", "/security/v1/user-groups", { token, body: { name: "staff" } })).status, 201);
    const { status, lines } = await importUsers(server(), token, ndjson([
      { username: "imp_ann", firstName: "Ann", email: "ann@example.com", groups: ["staff"] },
      { username: "imp_ben", enabled: false },
    ]));
    assert.equal(status, 200);
    assert.deepEqual(lines.slice(0, 2).map((l) => [l.line, l.username, l.status]), [[1, "imp_ann", "created"], [2, "imp_ben", "created"]]);
    assert.match(lines[0]!.id!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(lines.at(-1)!.summary, { created: 2, updated: 0, unchanged: 0, failed: 0, dryRun: false });
    const ann = await user("imp_ann");
    assert.deepEqual(ann?.groups, ["staff", "users"]);
    assert.equal(ann?.displayName, "Ann");
    assert.equal((await user("imp_ben"))?.enabled, false);
    // One event for the users a batch created, naming each (and its groups), then the summary.
    const audit = await server().api<{ details: Record<string, unknown> }[]>("GET", "/security/v1/audit-events?action=user.import", { token });
    assert.deepEqual(audit.body.map((e) => e.details), [
      { created: 2, updated: 0, unchanged: 0, failed: 0 },
      { createdUsers: [{ id: lines[0]!.id, username: "imp_ann", groups: ["staff"] }, { id: lines[1]!.id, username: "imp_ben" }] },
    ]);
  });

  it("answers each bad row with its error and imports the others", async () => {
    const { status, lines } = await importUsers(server(), token, ndjson([
      { username: "imp_ok1" },
      { username: "imp_bad", email: "not-an-address" },
      "{not json",
      { username: "imp_nogroup", groups: ["no-such-group"] },
      { username: "imp_ok1", firstName: "again" },
      { username: "imp_login", loginName: "imp_ann" },
      { username: "imp_both", password: "Long-Enough-Password-1", passwordHash: "$2b$04$abcdefghijklmnopqrstuuP2vJ6dZ1VIrhW0.mOcnHb2M3sxZYLHy" },
      { username: "imp_hash", passwordHash: "md5:0123" },
      { username: "imp_extra", shoeSize: 44 },
      { username: "imp_ok2" },
    ]));
    assert.equal(status, 200);
    const byLine = new Map(lines.filter((l) => l.line).map((l) => [l.line, l]));
    assert.equal(byLine.get(1)!.status, "created");
    assert.equal(byLine.get(10)!.status, "created");
    // The same username again is an update, as the rows of a file are done one after the other.
    assert.equal(byLine.get(5)!.status, "updated");
    for (const [line, field] of [[2, "email"], [4, "groups"], [6, "loginName"], [7, "passwordHash"], [8, "passwordHash"], [9, "shoeSize"]] as const) {
      const l = byLine.get(line)!;
      assert.equal(l.status, "failed", JSON.stringify(l));
      assert.match(l.error!.code, /^ECMS1[03]01$/, JSON.stringify(l));
      if (line !== 9) assert.equal(l.error!.field, field, JSON.stringify(l));
    }
    assert.equal(byLine.get(3)!.status, "failed");
    // Where the row failed, not the row's text again (a password may be in it).
    assert.equal(byLine.get(3)!.error!.message, "The row is not JSON (at character 2).");
    assert.equal(byLine.get(6)!.error!.code, "ECMS1301");
    assert.equal(await user("imp_bad"), undefined);
    // A group name that looks like one there is, but holds what no group's name may hold: said, not only "no group named".
    const unlike = await importUsers(server(), token, ndjson([{ username: "imp_zw", groups: ["staff\u200b"] }]));
    assert.deepEqual(unlike.lines.slice(0, 1).map((l) => l.error?.message), [
      'There is no group named "staff\u200b": it holds an invisible or formatting character (U+200B), which no group\'s name has.',
    ]);
  });

  it("takes group names with white space around them as CSV does, in NDJSON too, dry run or not", async () => {
    const rows = { ndjson: ndjson([{ username: "imp_sp_json", groups: [" staff ", "\tusers"] }]), csv: "username,groups\r\nimp_sp_csv, staff ;\tusers\r\n" };
    for (const query of ["?dryRun=true", ""]) {
      for (const [format, body] of Object.entries(rows)) {
        const { lines } = await importUsers(server(), token, body, format === "csv" ? "text/csv" : "application/x-ndjson", query);
        assert.equal(lines[0]!.status, "created", `${format}${query}: ${JSON.stringify(lines[0])}`);
      }
    }
    assert.deepEqual([(await user("imp_sp_json"))?.groups, (await user("imp_sp_csv"))?.groups], [["staff", "users"], ["staff", "users"]]);
  });

  it("fails a row naming a group that is empty or only white space, in NDJSON and CSV, dry run or not: an update does not take the user's groups away", async () => {
    await server().api("POST", "/security/v1/user-groups", { token, body: { name: "staff" } }); // made by an earlier test when all run
    assert.equal((await importUsers(server(), token, ndjson([{ username: "imp_blank_g", groups: ["staff"] }]))).lines[0]!.status, "created");
    const rows = {
      ndjson: ndjson([{ username: "imp_blank_g", groups: [" "] }, { username: "imp_blank_g", groups: ["staff", ""] }]),
      csv: "username,groups\r\nimp_blank_g,\" \"\r\nimp_blank_g,staff;;users\r\nimp_blank_g,staff;\r\n",
    };
    for (const query of ["?dryRun=true&update=true", "?update=true"]) {
      for (const [format, body] of Object.entries(rows)) {
        const all = (await importUsers(server(), token, body, format === "csv" ? "text/csv" : "application/x-ndjson", query)).lines;
        const lines = all.filter((l) => l.line !== undefined);
        assert.deepEqual([all.at(-1)!.summary!.failed, lines.every((l) => l.status === "failed")], [lines.length, true], `${format}${query}: ${JSON.stringify(all)}`);
        assert.match(lines[0]!.error!.message, /^groups holds a name that is empty or only white space \(name 1 of 1\)/);
        assert.equal(lines[0]!.error!.field, "groups");
      }
    }
    assert.deepEqual((await user("imp_blank_g"))?.groups, ["staff", "users"]);
  });

  it("says what is wrong with a row in the words POST /users uses, never a schema's pattern or keyword", async () => {
    const { lines } = await importUsers(server(), token, "username,validTo,email\nimp_when,next week,\n,,x@example.com\n", "text/csv");
    const single = await server().api("POST", "/security/v1/users", { token, body: { username: "imp_when", validTo: "next week" } });
    assert.equal(single.status, 400);
    assert.deepEqual([lines[0]!.line, lines[0]!.error], [2, { code: "ECMS1001", message: "validTo is not an ISO 8601 date or time with a zone, such as 2030-12-31 or 2030-12-31T23:59:59Z.", field: "validTo" }]);
    assert.ok(single.text.includes(lines[0]!.error!.message), single.text);
    assert.deepEqual(lines[1]!.error, { code: "ECMS1001", message: "username is required.", field: "username" });
    const { lines: extra } = await importUsers(server(), token, ndjson([{ username: "imp_shoe", shoeSize: 44 }]));
    assert.match(extra[0]!.error!.message, /^Unknown field: shoeSize; known: username, /);
    assert.deepEqual((extra[0]!.error as { unknown?: string[] }).unknown, ["shoeSize"]);
    const { lines: robot } = await importUsers(server(), token, ndjson([{ username: "imp_robot", serviceAccount: true, passwordHash: "$2b$04$abcdefghijklmnopqrstuuP2vJ6dZ1VIrhW0.mOcnHb2M3sxZYLHy" }]));
    assert.equal(robot[0]!.error!.field, "passwordHash", "the field the row gave");
  });

  it("refuses a row with bytes that are not UTF-8, in NDJSON and CSV, and imports the others", async () => {
    const bytes = (text: string) => Buffer.from(text, "latin1");
    for (const [type, body] of [
      ["application/x-ndjson", bytes('{"username":"imp_latin1","firstName":"Andr\xe9"}\n{"username":"imp_utf8_ok"}\n')],
      ["text/csv", bytes("username,firstName\nimp_latin1_csv,Andr\xe9\nimp_utf8_ok_csv,Ann\n")],
    ] as const) {
      const r = await fetch(`${server().baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": type }, body });
      const text = await r.text();
      const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Line);
      assert.deepEqual(lines.slice(0, 2).map((l) => l.status), ["failed", "created"], text);
      // Saying how to send it as it is: a newcomer's Excel CSV is not UTF-8, and each client can name its charset.
      assert.equal(lines[0]!.error!.message, "The row has bytes that are not UTF-8: send the file as UTF-8, or name its charset (windows-1252 for a CSV saved by Excel on Windows) in the Content-Type, ecm import --charset or the SDK's charset option.");
    }
    assert.equal(await user("imp_latin1"), undefined);
    // In the header, it is the file's fault, said as such (not as a column of an unknown name).
    const header = await fetch(`${server().baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" }, body: bytes("user\xe9name\nimp_x\n") });
    assert.equal(header.status, 400);
    assert.match((await header.json()).errorMessage, /The CSV header has bytes that are not UTF-8/);
  });

  it("reads a file in the charset its Content-Type declares (a spreadsheet's windows-1252 CSV), and names it when a byte is not of it", async () => {
    const post = (type: string, body: Buffer<ArrayBuffer>) => fetch(`${server().baseUrl}/security/v1/users/import`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": type }, body });
    for (const [type, username, body] of [
      ["text/csv; charset=windows-1252", "imp_cp1252", Buffer.from("username,displayName\nimp_cp1252,Andr\xe9 \x80\n", "latin1")],
      ['text/csv; charset="ISO-8859-1"', "imp_latin1_declared", Buffer.from("username,displayName\nimp_latin1_declared,Andr\xe9\n", "latin1")],
      ["application/x-ndjson; charset=latin1", "imp_latin1_ndjson", Buffer.from('{"username":"imp_latin1_ndjson","displayName":"Andr\xe9"}\n', "latin1")],
    ] as const) {
      const r = await post(type, body);
      const text = await r.text();
      assert.equal(JSON.parse(text.split("\n")[0]!).status, "created", `${type}: ${text}`);
      assert.match(String((await user(username))?.displayName), /^André/, type);
    }
    assert.equal((await user("imp_cp1252"))!.displayName, "André €", "windows-1252's 0x80 is the euro sign");
    // A file that starts with UTF-8's byte order mark is UTF-8, whatever was declared (as the Encoding Standard decodes).
    const bom = await post("text/csv; charset=windows-1252", Buffer.from("\ufeffusername,displayName\nimp_bom_utf8,Andr\u00e9\n"));
    assert.equal(JSON.parse((await bom.text()).split("\n")[0]!).status, "created");
    assert.equal((await user("imp_bom_utf8"))?.displayName, "André");
    // A charset of several bytes a character, with a byte sequence it does not have.
    const sjis = await post("text/csv; charset=shift_jis", Buffer.concat([Buffer.from("username,displayName\nimp_sjis_bad,"), Buffer.from([0x82]), Buffer.from("\nimp_sjis_ok,x\n")]));
    const lines = (await sjis.text()).trim().split("\n").map((l) => JSON.parse(l) as Line);
    assert.deepEqual(lines.slice(0, 2).map((l) => l.status), ["failed", "created"]);
    assert.equal(lines[0]!.error!.message, "The row has bytes that are not shift_jis, the charset the request declares.");
    // A label no encoding has (a typo) is refused unread, not read as UTF-8.
    for (const charset of ["x-unheard-of", "iso-2022-kr"]) {
      const unknown = await post(`text/csv; charset=${charset}`, Buffer.from("username,displayName\nimp_unknown_charset,Andr\u00e9\n"));
      assert.equal(unknown.status, 415);
      assert.equal((await unknown.json()).errorMessage, `ECMS1004-E This server reads no ${charset} charset: send the file as UTF-8, or name its charset as the Encoding Standard does (windows-1252, iso-8859-15, shift_jis…).`);
    }
    assert.equal(await user("imp_unknown_charset"), undefined);
  });

  it("updates by username: changed fields and groups, unchanged rows say so", async () => {
    const { lines } = await importUsers(server(), token, ndjson([
      { username: "imp_ann", firstName: "Ann", email: "ann@example.com", groups: ["staff"] },
      { username: "imp_ben", lastName: "Berg", groups: [] },
      { username: "imp_ok1", firstName: "Oka", groups: ["staff"] },
    ]));
    assert.deepEqual(lines.slice(0, 3).map((l) => l.status), ["unchanged", "updated", "updated"]);
    const ben = await user("imp_ben");
    assert.equal(ben?.lastName, "Berg");
    assert.equal((await user("imp_ok1"))?.firstName, "Oka", "each row of a batch gets its own changed fields");
    assert.equal(ben?.enabled, false, "fields left out keep their value");
    assert.deepEqual((await user("imp_ok1"))?.groups, ["staff", "users"]);
    const { lines: again } = await importUsers(server(), token, ndjson([{ username: "imp_ok1", groups: ["users"] }]));
    assert.equal(again[0]!.status, "updated");
    assert.deepEqual((await user("imp_ok1"))?.groups, ["users"]);
  });

  it("takes CSV: the header names the fields, groups are separated by ;", async () => {
    const csv = 'username,first_name,Last Name,email,enabled,groups\r\nimp_csv1,"Doe, Jane",Ö,jane@example.com,true,staff;users\r\nimp_csv2,,,,no,\r\nimp_csv3,x,y\r\n';
    const { status, lines } = await importUsers(server(), token, csv, "text/csv");
    assert.equal(status, 200);
    assert.deepEqual(lines.slice(0, 3).map((l) => [l.line, l.status]), [[2, "created"], [3, "created"], [4, "failed"]]);
    const jane = await user("imp_csv1");
    assert.equal(jane?.firstName, "Doe, Jane");
    assert.equal(jane?.lastName, "Ö");
    assert.deepEqual(jane?.groups, ["staff", "users"]);
    assert.equal((await user("imp_csv2"))?.enabled, false);
    const bad = await importUsers(server(), token, "username,shoe\nx,1\n", "text/csv");
    assert.equal(bad.status, 400);
    assert.match(bad.text, /ECMS1001-E Unknown CSV column: \\"shoe\\"; known: username, loginName, .*, remark, locked, changePwd, neverExpire\./);
    // An argon2 hash holds commas: written into a CSV unquoted, as a script's echo writes it, the row says how to write it.
    const argon2 = await hash("Imported-Password-7", { algorithm: Algorithm.Argon2id, memoryCost: 64, timeCost: 1, parallelism: 1 });
    const unquoted = await importUsers(server(), token, `username,passwordHash,email\nimp_csv_argon2,${argon2},a@example.com\nimp_csv_argon2q,"${argon2}",a@example.com\n`, "text/csv");
    assert.deepEqual(unquoted.lines.slice(0, 2).map((l) => [l.status, l.error?.message]), [
      ["failed", "The row has 5 fields; the header has 3. An argon2 hash holds commas (m=…,t=…,p=…): put its cell in double quotes."],
      ["created", undefined],
    ]);
  });

  it("takes a CSV as spreadsheets write it: a first line sep=X naming the separator, rows of empty cells skipped as blank lines", async () => {
    // Excel reads and writes a first line `sep=;` (its separator where the decimal mark is a comma); a row it
    // once formatted comes out as separators alone.
    for (const [sep, name] of [[",", "comma"], [";", "semicolon"], ["\t", "tab"]] as const) {
      const csv = `\uFEFFsep=${sep}\r\nusername${sep}email${sep}groups\r\nimp_sep_${name}${sep}"${name}@example.com"${sep}"staff;users"\r\n${sep}${sep}\r\n  ${sep} ${sep}\r\n\r\nimp_sep2_${name}${sep}${sep}\r\n${sep}${sep}\r\n`;
      const { status, lines, text } = await importUsers(server(), token, csv, "text/csv");
      assert.equal(status, 200, text);
      assert.deepEqual(lines.map((l) => [l.line, l.username, l.status]), [[3, `imp_sep_${name}`, "created"], [7, `imp_sep2_${name}`, "created"], [undefined, undefined, undefined]], text);
      assert.deepEqual((await user(`imp_sep_${name}`))?.groups, ["staff", "users"]);
      assert.equal((await user(`imp_sep_${name}`))?.email, `${name}@example.com`);
    }
    // The line alone, as the file's last, is no header either: a file without rows.
    const alone = await importUsers(server(), token, "\uFEFFsep=;", "text/csv");
    assert.deepEqual([alone.status, alone.lines], [200, [{ summary: { created: 0, updated: 0, unchanged: 0, failed: 0, dryRun: false } }]], alone.text);
    // Without the line, a header cut by another separator is one unknown column: the answer says what separates them, and how to say so.
    const semicolons = await importUsers(server(), token, "username;email\nx;x@example.com\n", "text/csv");
    assert.equal(semicolons.status, 400);
    assert.match(semicolons.text, /Unknown CSV column: \\"username;email\\"; known: .* Columns are separated by commas, not \\";\\", unless a first line \\"sep=;\\" names the separator\./);
  });

  it("a CSV that goes wrong near its end: the rows before are imported and answered, then the error is the last line", async () => {
    const csv = 'username,email\nimp_before1,b1@example.com\nimp_before2,\nimp_broken,"never closed\n';
    const { status, lines } = await importUsers(server(), token, csv, "text/csv");
    assert.equal(status, 200);
    assert.deepEqual(lines.slice(0, 2).map((l) => [l.line, l.username, l.status]), [[2, "imp_before1", "created"], [3, "imp_before2", "created"]]);
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.error?.code, "ECMS1001");
    assert.match(lines[2]!.error!.message, /unterminated quoted field from line 4/);
    assert.equal((await user("imp_before2"))?.username, "imp_before2");
  });

  it("refuses a profile column without profileId beside it (it would look set and do nothing), and reads it past beside profileId as an export has it", async () => {
    const alone = await importUsers(server(), token, "username,profile\nimp_pa1,managers\n", "text/csv");
    assert.deepEqual([alone.status, JSON.parse(alone.text).errorMessage], [400, "ECMS1001-E The CSV header's profile is read only beside profileId, as `ecm users list -o csv` writes them: a user's profile is set by its number, profileId."]);
    const row = await importUsers(server(), token, ndjson([{ username: "imp_pa2", profile: "managers" }]));
    assert.deepEqual(row.lines.slice(0, 1).map((l) => [l.status, l.error?.field]), [["failed", "profile"]]);
    assert.equal(await user("imp_pa2"), undefined);
    const beside = await importUsers(server(), token, "username,profileId,profile\nimp_pa3,-1,\n", "text/csv");
    assert.deepEqual(beside.lines.slice(0, 1).map((l) => l.status), ["created"]);
  });

  it("takes the SDK's names in a CSV header too (remark, locked, changePwd, neverExpire, profileId), and says which cell is wrong", async () => {
    const csv = "Username,Remark,Locked,changePwd,never_expire,profileId\nimp_seed1,from the seed,yes,true,1,-1\nimp_seed2,,maybe,,,\nimp_seed3,,,,,x\n";
    const { lines } = await importUsers(server(), token, csv, "text/csv");
    assert.deepEqual(lines.slice(0, 3).map((l) => [l.line, l.status]), [[2, "created"], [3, "failed"], [4, "failed"]]);
    assert.match(lines[1]!.error!.message, /Locked: "maybe" is not a boolean/);
    assert.match(lines[2]!.error!.message, /profileId: "x" is not an integer/);
    assert.deepEqual([lines[1]!.error!.field, lines[2]!.error!.field], ["Locked", "profileId"]);
    // What is said of a field is said by the file's name for it: Remark, not description; first_name, not firstName.
    const named = await importUsers(server(), token, `Username,Remark,first_name\nimp_seed4,${"r".repeat(1025)},Ann\nimp_seed5,ok,${"f".repeat(256)}\n`, "text/csv");
    assert.deepEqual(named.lines.slice(0, 2).map((l) => [l.status, l.error?.field, l.error?.message]), [
      ["failed", "Remark", "Remark must be at most 1024 characters long."],
      ["failed", "first_name", "first_name must be at most 255 characters long."],
    ]);
    const seed1 = await user("imp_seed1");
    assert.deepEqual([seed1?.description, seed1?.enabled, seed1?.changePassword, seed1?.passwordNeverExpires], ["from the seed", false, true, true]);
    const twice = await importUsers(server(), token, "username,enabled,locked\nx,true,false\n", "text/csv");
    assert.equal(twice.status, 400);
    assert.match(twice.text, /enabled twice \(enabled, locked\)/);
  });

  it("takes a users list back as NDJSON, in the API's names and the SDK's (`ecm users list -o ndjson`): each user unchanged, an id naming another user fails", async () => {
    const listed = (await server().api<Record<string, unknown>[]>("GET", "/security/v1/users?search=imp_csv&extendedInfo=true", { token })).body;
    assert.ok(listed.length >= 2);
    const api = await importUsers(server(), token, ndjson(listed), "application/x-ndjson", "?dryRun=true");
    assert.deepEqual(api.lines.at(-1)!.summary, { created: 0, updated: 0, unchanged: listed.length, failed: 0, dryRun: true }, api.text);
    const [seed1, seed2] = listed as { id: string; numericId: number; username: string; loginName: string; displayName: string; email: string | null; enabled: boolean; description: string | null }[];
    // As `ecm users list -x -o ndjson` writes a user: the SDK's id (the number), guid, locked, remark.
    const sdkRow = (u: NonNullable<typeof seed1>) => ({ id: u.numericId, username: u.username, loginName: u.loginName, displayName: u.displayName, email: u.email ?? "", locked: !u.enabled, profileId: -1, guid: u.id, remark: u.description ?? "", lockedOut: false, lockedOutUntil: null });
    const sdk = await importUsers(server(), token, ndjson([sdkRow(seed1!), { ...sdkRow(seed2!), locked: "no" }, { ...sdkRow(seed2!), username: seed1!.username }, { ...sdkRow(seed1!), enabled: true }]));
    assert.deepEqual(sdk.lines.slice(0, 4).map((l) => [l.status, l.error?.field]), [["unchanged", undefined], ["failed", "locked"], ["failed", "username"], ["failed", "locked"]], sdk.text);
    assert.match(sdk.lines[2]!.error!.message, /This row's id is the user imp_csv2, not imp_csv1/);
    assert.match(sdk.lines[3]!.error!.message, /enabled twice \(enabled, locked\)/);
  });

  it("update=false: a user that exists is a failed row, left as it is", async () => {
    const { lines } = await importUsers(server(), token, ndjson([{ username: "imp_seed1", description: "changed" }, { username: "imp_new_only" }]), "application/x-ndjson", "?update=false");
    assert.deepEqual(lines.slice(0, 2).map((l) => [l.status, l.error?.code, l.error?.field]), [["failed", "ECMS1301", "username"], ["created", undefined, undefined]]);
    assert.equal((await user("imp_seed1"))?.description, "from the seed");
  });

  it("dry run: the same answers as the real import, nothing written", async () => {
    const rows = ndjson([{ username: "imp_dry1" }, { username: "imp_dry2", loginName: "IMP_ANN" }, { username: "imp_ann", firstName: "Changed" }]);
    const countBefore = (await server().api("GET", "/security/v1/users/count", { token })).body;
    const dry = await importUsers(server(), token, rows, "application/x-ndjson", "?dryRun=true");
    assert.deepEqual(dry.lines.slice(0, 3).map((l) => l.status), ["created", "failed", "updated"]);
    assert.equal(dry.lines[0]!.id, undefined);
    assert.equal(dry.lines.at(-1)!.summary!.dryRun, true);
    assert.equal((await server().api("GET", "/security/v1/users/count", { token })).body, countBefore);
    assert.equal((await user("imp_ann"))?.firstName, "Ann");
    const real = await importUsers(server(), token, rows);
    assert.deepEqual(real.lines.slice(0, 3).map((l) => [l.status, l.error?.code]), dry.lines.slice(0, 3).map((l) => [l.status, l.error?.code]));
  });

  it("dry run: a batch done row by row sees its earlier rows, as the real import does", async () => {
    // Two system administrators; the file takes the role from both: the second row would leave none.
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_adm2", password: "Second-Admin-Password-1" } })).status, 201);
    const administrators = await groupId(server(), token, "administrators");
    const adm2 = await user("imp_adm2");
    assert.equal((await server().api("PUT", `/security/v1/users/${adm2!.id}/user-groups/${administrators}`, { token })).status, 204);
    const rows = ndjson([{ username: "imp_adm2", groups: ["users"] }, { username: "sysadmin", groups: ["users"] }]);
    const dry = await importUsers(server(), token, rows, "application/x-ndjson", "?dryRun=true");
    assert.deepEqual(dry.lines.slice(0, 2).map((l) => [l.status, l.error?.code]), [["updated", undefined], ["failed", "ECMS1302"]]);
    assert.equal((await server().api("GET", `/security/v1/users/${adm2!.id}/user-groups`, { token })).body.some((g: any) => g.name === "administrators"), true, "nothing written");
    const real = await importUsers(server(), token, rows);
    assert.deepEqual(real.lines.slice(0, 2).map((l) => [l.status, l.error?.code]), dry.lines.slice(0, 2).map((l) => [l.status, l.error?.code]));
  });

  it("imports existing hashes (argon2i, bcrypt, PBKDF2-SHA256 and -SHA512 as Keycloak keeps them): they log in, and the hash becomes current argon2id", async () => {
    const password = "Imported-Password-1";
    const salt = randomBytes(16);
    const keycloak = (digest: "sha256" | "sha512", iterations: number) =>
      `$pbkdf2-${digest}$i=${iterations}$${salt.toString("base64")}$${pbkdf2Sync(password, salt, iterations, 64, digest).toString("base64")}`;
    const hashes = {
      imp_argon2i: await hash(password, { algorithm: Algorithm.Argon2i, memoryCost: 4096, timeCost: 3, parallelism: 1 }),
      imp_bcrypt: bcryptHashSync(password, 4),
      imp_pbkdf2: keycloak("sha256", 27500),
      imp_pbkdf2_512: keycloak("sha512", 210000),
    };
    const { lines } = await importUsers(server(), token, ndjson(Object.entries(hashes).map(([username, passwordHash]) => ({ username, passwordHash }))));
    assert.deepEqual(lines.slice(0, 4).map((l) => l.status), ["created", "created", "created", "created"]);
    for (const [username, original] of Object.entries(hashes)) {
      const wrong = await server().api("POST", "/auth/v1/providers/builtin/token", { body: { username, password: "Not-The-Password-1" } });
      assert.equal(wrong.status, 401, username);
      await server().login(username, password);
      const row = await server().server.deps.store.db.selectFrom("users").select("password_hash").where("username", "=", username).executeTakeFirstOrThrow();
      assert.notEqual(row.password_hash, original);
      assert.ok(!server().server.deps.hasher.needsRehash(row.password_hash!), `${username}: ${row.password_hash}`);
      await server().login(username, password);
    }
    const events = await server().api("GET", "/security/v1/audit-events?action=user.password-rehashed", { token });
    assert.equal((events.body as unknown[]).length, 4, events.text);
    assert.ok(!events.text.includes("$2"), "no hash in the audit log");
  });

  it("imports argon2 hashes of any tag and salt length argon2 allows, and makes them current argon2id at login, also at the configured cost", async () => {
    const password = "Imported-Password-6";
    const { memoryCost, timeCost, parallelism } = server().server.deps.config.argon2;
    const shortSalt = Buffer.from("8bytes!!");
    // As the reference `argon2` command writes them with -l 4 or -l 8: argon2's shortest tags, a salt of its shortest.
    const hashes = {
      imp_tag4: await hash(password, { algorithm: Algorithm.Argon2id, memoryCost: 64, timeCost: 1, parallelism: 1, outputLen: 4 }),
      imp_tag8_salt8: await hash(password, { algorithm: Algorithm.Argon2i, memoryCost: 64, timeCost: 1, parallelism: 1, outputLen: 8, salt: shortSalt }),
      // This server's own algorithm and cost, with a tag and salt shorter than its own: it only looks current.
      imp_own_cost_tag4: await hash(password, { algorithm: Algorithm.Argon2id, memoryCost, timeCost, parallelism, outputLen: 4, salt: shortSalt }),
    };
    const { lines } = await importUsers(server(), token, ndjson(Object.entries(hashes).map(([username, passwordHash]) => ({ username, passwordHash }))));
    assert.deepEqual(lines.slice(0, 3).map((l) => [l.username, l.status, l.error?.message]), Object.keys(hashes).map((u) => [u, "created", undefined]));
    for (const [username, original] of Object.entries(hashes)) {
      await server().login(username, password);
      const row = await server().server.deps.store.db.selectFrom("users").select("password_hash").where("username", "=", username).executeTakeFirstOrThrow();
      assert.notEqual(row.password_hash, original, `${username}: replaced at login`);
      assert.ok(!server().server.deps.hasher.needsRehash(row.password_hash!), `${username}: ${row.password_hash}`);
      await server().login(username, password);
    }
  });

  it("takes a passwordHash sent again as set already, after a login upgraded it and after its owner changed the password", async () => {
    const password = "Imported-Password-2";
    const original = bcryptHashSync(password, 4);
    const row = ndjson([{ username: "imp_again", passwordHash: original }]);
    assert.equal((await importUsers(server(), token, row)).lines[0]!.status, "created");
    const session = await server().login("imp_again", password);
    const upgraded = await server().server.deps.store.db.selectFrom("users").select("password_hash").where("username", "=", "imp_again").executeTakeFirstOrThrow();
    assert.notEqual(upgraded.password_hash, original, "the login made it argon2id");
    for (const query of ["?dryRun=true", ""]) assert.equal((await importUsers(server(), token, row, "application/x-ndjson", query)).lines[0]!.status, "unchanged", query);
    assert.equal((await server().api("GET", "/security/v1/me", { token: session })).status, 200, "its sessions go on");
    const changed = "Changed-Here-Password-3";
    assert.equal((await server().api("PUT", "/security/v1/me/password", { token: session, body: { currentPassword: password, newPassword: changed } })).status, 204);
    assert.equal((await importUsers(server(), token, row)).lines[0]!.status, "unchanged");
    await server().login("imp_again", changed);
    // Imported before the digest was kept (migration 014o): the same hash sent again is noted then, and known from there on.
    const db = server().server.deps.store.db;
    const legacy = bcryptHashSync("Legacy-Password-5", 4);
    assert.equal((await importUsers(server(), token, ndjson([{ username: "imp_legacy", passwordHash: legacy }]))).lines[0]!.status, "created");
    await db.updateTable("users").set({ password_imported_digest: null }).where("username", "=", "imp_legacy").execute();
    assert.equal((await importUsers(server(), token, ndjson([{ username: "imp_legacy", passwordHash: legacy }]))).lines[0]!.status, "unchanged");
    await server().login("imp_legacy", "Legacy-Password-5");
    assert.equal((await importUsers(server(), token, ndjson([{ username: "imp_legacy", passwordHash: legacy }]))).lines[0]!.status, "unchanged");
    // Another hash (the password changed where the users come from) is set.
    const other = bcryptHashSync("Changed-There-Password-4", 4);
    assert.equal((await importUsers(server(), token, ndjson([{ username: "imp_again", passwordHash: other }]))).lines[0]!.status, "updated");
    await server().login("imp_again", "Changed-There-Password-4");
  });

  it("refuses hashes dearer to check than the ceiling, and never checks one that got into the store", async () => {
    const salt = "c29tZXNhbHRzb21lc2FsdA";
    const digest = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const dear = {
      imp_dear_argon2: `$argon2id$v=19$m=99999999,t=1,p=1$${salt}$${digest}`,
      imp_dear_time: `$argon2id$v=19$m=4096,t=9999,p=1$${salt}$${digest}`,
      imp_dear_bcrypt: `$2b$31$${"a".repeat(53)}`,
      imp_dear_pbkdf2: `$pbkdf2-sha256$i=99999999$${salt}$${digest}`,
      // Each 32 bytes of the derived key cost the iterations again.
      imp_long_pbkdf2: `$pbkdf2-sha256$i=1000$${salt}$${"A".repeat(980)}`,
      // Hashes no password could ever match: below argon2's minimums, or of a version it does not have.
      imp_thin_argon2: `$argon2id$v=19$m=1,t=1,p=1$${salt}$${digest}`,
      imp_thin_lanes: `$argon2id$v=19$m=8,t=1,p=2$${salt}$${digest}`,
      imp_version_argon2: `$argon2id$v=20$m=4096,t=1,p=1$${salt}$${digest}`,
    };
    const { lines } = await importUsers(server(), token, ndjson(Object.entries(dear).map(([username, passwordHash]) => ({ username, passwordHash }))));
    assert.equal(lines.length, Object.keys(dear).length + 1);
    for (const line of lines.slice(0, Object.keys(dear).length)) {
      assert.equal(line.status, "failed", JSON.stringify(line));
      assert.equal(line.error?.field, "passwordHash");
      assert.match(line.error!.message, /at most|at least|v=16 or v=19|4 to 12|1 to 600000|16 to 64 bytes/);
    }
    // A hash stored before there was a ceiling: the login is refused at once, like a wrong password.
    const { store, hasher } = server().server.deps;
    await insertUser(store, { username: "imp_dear_stored" }, { hasher, value: "Whatever-Password-1" });
    await store.db.updateTable("users").set({ password_hash: dear.imp_dear_argon2 }).where("username", "=", "imp_dear_stored").execute();
    const r = await server().api("POST", "/auth/v1/providers/builtin/token", { body: { username: "imp_dear_stored", password: "Whatever-Password-1" } });
    assert.equal(r.status, 401);
    // One imported under the former, higher ceiling (PBKDF2 up to 1 000 000 iterations) still logs in, and is replaced then.
    const former = randomBytes(16);
    const formerHash = `$pbkdf2-sha512$i=300000$${former.toString("base64")}$${pbkdf2Sync("Former-Ceiling-Pass-1", former, 300000, 64, "sha512").toString("base64")}`;
    assert.match(hasher.hashProblem(formerHash) ?? "", /1 to 210000/);
    await insertUser(store, { username: "imp_former_ceiling" }, { hasher, value: "Whatever-Password-1" });
    await store.db.updateTable("users").set({ password_hash: formerHash }).where("username", "=", "imp_former_ceiling").execute();
    await server().login("imp_former_ceiling", "Former-Ceiling-Pass-1");
    const replaced = await store.db.selectFrom("users").select("password_hash").where("username", "=", "imp_former_ceiling").executeTakeFirstOrThrow();
    assert.ok(!hasher.needsRehash(replaced.password_hash!), replaced.password_hash!);
  });

  it("refuses hashes whose every check would cost a second or more, naming the limit; Keycloak's defaults and RFC 9106's 64 MiB are taken", async () => {
    const salt = "c29tZXNhbHRzb21lc2FsdA";
    const value = Buffer.alloc(64, 1).toString("base64");
    const tag = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const rows = {
      imp_cost_pbkdf2_256: [`$pbkdf2-sha256$i=1000000$${salt}$${value}`, /PBKDF2-SHA256 iterations must be 1 to 600000/],
      imp_cost_pbkdf2_512: [`$pbkdf2-sha512$i=1000000$${salt}$${value}`, /PBKDF2-SHA512 iterations must be 1 to 210000/],
      imp_cost_pbkdf2_512b: [`$pbkdf2-sha512$i=210001$${salt}$${value}`, /PBKDF2-SHA512 iterations must be 1 to 210000/],
      imp_cost_bcrypt13: [`$2b$13$${"a".repeat(53)}`, /bcrypt cost must be 4 to 12/],
      imp_cost_bcrypt14: [`$2y$14$${"a".repeat(53)}`, /bcrypt cost must be 4 to 12/],
      imp_cost_argon2_t10: [`$argon2id$v=19$m=65536,t=10,p=1$${salt}$${tag}`, /argon2 cost must be at most m=65536, p=8 and m×t=196608/],
      imp_cost_argon2_t4: [`$argon2id$v=19$m=65536,t=4,p=4$${salt}$${tag}`, /argon2 cost must be at most m=65536, p=8 and m×t=196608/],
      imp_cost_argon2_t30: [`$argon2i$v=19$m=8192,t=30,p=1$${salt}$${tag}`, /argon2 cost must be at most m=65536, p=8 and m×t=196608/],
      // Keycloak's defaults (PBKDF2-SHA512 210 000, PBKDF2-SHA256 27 500 before Keycloak 24 and 600 000 since), bcrypt 12, RFC 9106's second choice.
      imp_cost_kc_512: [`$pbkdf2-sha512$i=210000$${salt}$${value}`, null],
      imp_cost_kc_256: [`$pbkdf2-sha256$i=27500$${salt}$${value}`, null],
      imp_cost_kc24_256: [`$pbkdf2-sha256$i=600000$${salt}$${value}`, null],
      imp_cost_bcrypt12: [`$2b$12$${"a".repeat(53)}`, null],
      imp_cost_rfc9106: [`$argon2id$v=19$m=65536,t=3,p=4$${salt}$${tag}`, null],
    } as const;
    for (const query of ["?dryRun=true", ""]) {
      const { lines } = await importUsers(server(), token, ndjson(Object.entries(rows).map(([username, [passwordHash]]) => ({ username, passwordHash }))), undefined, query);
      for (const [i, [username, [, refusal]]] of Object.entries(rows).entries()) {
        const line = lines[i]!;
        assert.equal(line.username, username);
        if (refusal === null) {
          assert.equal(line.status, "created", `${query} ${JSON.stringify(line)}`);
        } else {
          assert.equal(line.status, "failed", `${query} ${JSON.stringify(line)}`);
          assert.equal(line.error?.field, "passwordHash");
          assert.match(line.error!.message, refusal, username);
        }
      }
    }
  });

  it("refuses what the caller may not do, row by row, and a wrong content type or caller as a whole", async () => {
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_secadmin", password: "Sec-Admin-Password-1" } })).status, 201);
    const secGroup = await server().api("POST", "/security/v1/user-groups", { token, body: { name: "imp-security-admins" } });
    await server().api("PUT", `/security/v1/user-groups/${secGroup.body.id}/role-mappings/portal/security-administrator`, { token });
    const secadmin = (await server().api("GET", "/security/v1/users?search=imp_secadmin", { token })).body[0];
    assert.equal((await server().api("PUT", `/security/v1/users/${secadmin.id}/user-groups/${secGroup.body.id}`, { token })).status, 204);
    const sec = await server().login("imp_secadmin", "Sec-Admin-Password-1");
    const { lines } = await importUsers(server(), sec, ndjson([{ username: "imp_escalate", groups: ["administrators"] }, { username: "sysadmin", firstName: "Mallory" }, { username: "imp_fine" }]));
    assert.deepEqual(lines.slice(0, 3).map((l) => [l.status, l.error?.code]), [["failed", "ECMS1103"], ["failed", "ECMS1103"], ["created", undefined]]);
    // A token (or key) does not set its own account's password: that takes the current one, at /me/password.
    const ownHash = await bcryptHash("Taken-Over-Passw0rd-9", 4);
    for (const query of ["", "?dryRun=true"]) {
      for (const row of [{ password: "Taken-Over-Passw0rd-9" }, { passwordHash: ownHash }]) {
        const own = await importUsers(server(), sec, ndjson([{ username: "imp_secadmin", ...row }]), undefined, query);
        assert.equal(own.lines[0]!.status, "failed");
        assert.match(own.lines[0]!.error!.message, /Your own password is changed with PUT \/security\/v1\/me\/password/);
      }
    }
    assert.equal(await server().login("imp_secadmin", "Taken-Over-Passw0rd-9").catch(() => "refused"), "refused");
    assert.ok(await server().login("imp_secadmin", "Sec-Admin-Password-1"));
    assert.equal((await importUsers(server(), token, "{}", "application/json")).status, 415);
    // Rows sent as JSON are refused for their type, unread: not parsed as one JSON document and found wanting.
    const json = await importUsers(server(), token, '{"username":"a"}\n{"username":"b"}\n', "application/json");
    assert.equal(json.status, 415);
    assert.match(json.text, /Send the body as application\/x-ndjson or application\/jsonl or text\/csv, not application\/json/);
    const text = await importUsers(server(), token, "username\nx\n", "text/plain");
    assert.equal(text.status, 415);
    assert.match(text.text, /Send the body as application\/x-ndjson or application\/jsonl or text\/csv, not text\/plain/);
    assert.equal((await server().api("POST", "/security/v1/users/import", { body: "{}\n", headers: { "content-type": "application/x-ndjson" } })).status, 401);
    const plain = await server().login("imp_csv1", "x").catch(() => undefined);
    assert.equal(plain, undefined);
  });

  it("imports across batches, a row repeated in a later batch updates it", async () => {
    const rows = Array.from({ length: 1100 }, (_, i) => ({ username: `imp_many_${i}`, email: `m${i}@example.com`, groups: i % 2 ? ["staff"] : [] }));
    rows.push({ username: "imp_many_5", email: "changed@example.com", groups: [] });
    const { lines } = await importUsers(server(), token, ndjson(rows));
    assert.deepEqual(lines.at(-1)!.summary, { created: 1100, updated: 1, unchanged: 0, failed: 0, dryRun: false });
    assert.equal(lines.length, 1102);
    assert.equal((await user("imp_many_5"))?.email, "changed@example.com");
    assert.deepEqual((await user("imp_many_7"))?.groups, ["staff", "users"]);
    const { store } = server().server.deps;
    // The import left nothing pending in PostgreSQL's search indexes (every search would read it): merging again finds no page.
    assert.equal(await pendingSearchPages(store), 0);
  });

  it("a client gone midway: what was answered is imported, batches whole, and no batch starts once an answer met the client gone", async () => {
    const { port } = new URL(server().baseUrl);
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${JSON.stringify({ username: `imp_gone_${from + i}` })}\n`).join("");
    const ended = async () => (await server().api<{ details: { ended?: string } }[]>("GET", "/security/v1/audit-events?action=user.import&max=1000", { token })).body.filter((e) => e.details.ended === "the client went away").length;
    const endedBefore = await ended();
    await new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port: Number(port), path: "/portal/security/v1/users/import", method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" } }, (res) => {
        res.once("data", () => {
          // Row 1 answered: four batches more go out and the client goes at once, none of them answered.
          req.write(rows(2, 4000));
          setImmediate(() => {
            req.destroy();
            resolve();
          });
        });
      });
      req.on("error", () => {});
      req.write(rows(1, 1));
    });
    for (let waited = 0; (await ended()) === endedBefore; waited += 50) {
      assert.ok(waited < 20_000, "the import ends");
      await sleep(50);
    }
    const names = (await server().api<{ username: string }[]>("GET", "/security/v1/users?search=imp_gone_&fields=username", { token })).body.map((u) => Number(u.username.slice("imp_gone_".length)));
    const created = names.length;
    // A prefix of the rows in whole batches: row 1, the batch under way when the client went, and at most
    // the next (its answer is the first to meet the client gone); never the two batches after them.
    assert.deepEqual(names.sort((a, b) => a - b), Array.from({ length: created }, (_, i) => i + 1));
    assert.ok([1, 1001, 2001].includes(created), `${created} rows imported`);
  });

  it("a row is judged with the earlier rows of its own batch done: the same username again is an update, a login name given up is free, two users swap theirs", async () => {
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_gives", loginName: "imp_freed" } })).status, 201);
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_swap_a", loginName: "imp_swap_la" } })).status, 201);
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_swap_b", loginName: "imp_swap_lb" } })).status, 201);
    const rows = ndjson([
      { username: "imp_twice", email: "first@example.com" },
      { username: "imp_gives", loginName: "imp_other" },
      { username: "imp_takes", loginName: "imp_freed" },
      { username: "imp_twice", email: "second@example.com", groups: ["staff"] },
      // A swap in three rows, as a person would do it: through a name nobody holds.
      { username: "imp_swap_a", loginName: "imp_swap_tmp" },
      { username: "imp_swap_b", loginName: "imp_swap_la" },
      { username: "imp_swap_a", loginName: "imp_swap_lb" },
      // Still taken: by a user an earlier row created, and by one whose name no row changed.
      { username: "imp_late", loginName: "imp_other" },
      { username: "imp_late2", loginName: "imp_swap_la" },
    ]);
    const expected = [
      [1, "created"], [2, "updated"], [3, "created"], [4, "updated"], [5, "updated"], [6, "updated"], [7, "updated"], [8, "failed"], [9, "failed"],
    ];
    // The dry run gives the same answers, and writes nothing.
    const dry = await importUsers(server(), token, rows, "application/x-ndjson", "?dryRun=true");
    assert.deepEqual(dry.lines.slice(0, -1).map((l) => [l.line, l.status]), expected, JSON.stringify(dry.lines));
    assert.equal(await user("imp_twice"), undefined);
    // No id of a user only the dry run made, also where a later row of its batch updated it.
    assert.deepEqual([dry.lines[0]!.id, dry.lines[3]!.id], [undefined, undefined]);
    const { lines } = await importUsers(server(), token, rows);
    assert.deepEqual(lines.slice(0, -1).map((l) => [l.line, l.status]), expected, JSON.stringify(lines));
    assert.equal(lines[3]!.id, lines[0]!.id);
    assert.match(lines[7]!.error!.message, /login name already exists/);
    const twice = await user("imp_twice");
    assert.deepEqual([twice?.email, twice?.groups], ["second@example.com", ["staff", "users"]]);
    assert.equal((await user("imp_takes"))?.loginName, "imp_freed");
    assert.deepEqual([(await user("imp_swap_a"))?.loginName, (await user("imp_swap_b"))?.loginName], ["imp_swap_lb", "imp_swap_la"]);
  });

  it("a batch whose rows depend on each other more often than it is written in parts is done row by row, with the same answers", async () => {
    const rows = ndjson(Array.from({ length: 40 }, (_, i) => ({ username: "imp_often", description: `take ${i}` })));
    const expected = ["created", ...Array<string>(39).fill("updated")];
    const dry = await importUsers(server(), token, rows, "application/x-ndjson", "?dryRun=true");
    assert.deepEqual(dry.lines.slice(0, -1).map((l) => l.status), expected);
    assert.ok(dry.lines.slice(0, -1).every((l) => l.id === undefined), "no id of a user the dry run made");
    const { lines } = await importUsers(server(), token, rows);
    assert.deepEqual(lines.slice(0, -1).map((l) => l.status), expected);
    assert.equal((await user("imp_often"))?.description, "take 39");
  });

  it("a row refused after its names were checked leaves them free for the rows after it", async () => {
    const secadm = await createSecurityAdministrator(server(), token, "imp_secadm");
    const { lines } = await importUsers(server(), secadm.token, ndjson([
      // Only a system administrator puts a user in the administrators group: refused, after its names were found free.
      { username: "imp_first_try", loginName: "imp_wanted", groups: ["administrators"] },
      { username: "imp_second_try", loginName: "imp_wanted" },
    ]));
    assert.deepEqual(lines.slice(0, 2).map((l) => l.status), ["failed", "created"], JSON.stringify(lines));
  });

  it("dry run: a row is judged with the rows of earlier batches done, as the real import judges it", async () => {
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_span_old", loginName: "imp_span_oldlogin" } })).status, 201);
    assert.equal((await server().api("POST", "/security/v1/users", { token, body: { username: "imp_adm3", password: "Third-Admin-Password-1" } })).status, 201);
    const administrators = await groupId(server(), token, "administrators");
    assert.equal((await server().api("PUT", `/security/v1/users/${(await user("imp_adm3"))!.id}/user-groups/${administrators}`, { token })).status, 204);
    const password = "Span-Passw0rd-Long!";
    const rows = ndjson([
      { username: "imp_span_a", loginName: "imp_span_login_a", password },
      { username: "imp_span_old", loginName: "imp_span_newlogin" },
      { username: "imp_adm3", groups: ["users"] },
      ...Array.from({ length: 1000 }, (_, i) => ({ username: `imp_span_f${i}` })),
      // The next batch: each of these rows' answer depends on a row of the first.
      { username: "imp_span_a", password },
      { username: "imp_span_b", loginName: "IMP_SPAN_LOGIN_A" },
      { username: "imp_span_c", loginName: "imp_span_oldlogin" },
      { username: "sysadmin", groups: ["users"] },
    ]);
    const countBefore = (await server().api("GET", "/security/v1/users/count", { token })).body;
    const dry = await importUsers(server(), token, rows, "application/x-ndjson", "?dryRun=true");
    const answers = (lines: Line[]) => lines.slice(0, 1007).map((l) => [l.line, l.status, l.error?.code]);
    assert.deepEqual(answers(dry.lines).slice(1003), [
      [1004, "updated", undefined],
      [1005, "failed", "ECMS1301"],
      [1006, "created", undefined],
      [1007, "failed", "ECMS1302"],
    ]);
    assert.equal(dry.lines[1003]!.id, undefined, "no id of a user only the dry run made");
    assert.equal((await server().api("GET", "/security/v1/users/count", { token })).body, countBefore);
    assert.equal(await user("imp_span_a"), undefined);
    assert.equal((await server().api("GET", `/security/v1/users/${(await user("imp_adm3"))!.id}/user-groups`, { token })).body.some((g: any) => g.name === "administrators"), true);
    const again = await importUsers(server(), token, ndjson([{ username: "imp_span_x" }, ...Array.from({ length: 1000 }, (_, i) => ({ username: `imp_span_f${i}` })), { username: "imp_span_x" }]), "application/x-ndjson", "?dryRun=true&update=false");
    assert.deepEqual(answers(again.lines)[1001], [1002, "failed", "ECMS1301"]);

    const real = await importUsers(server(), token, rows);
    assert.deepEqual(answers(real.lines), answers(dry.lines));
    assert.deepEqual(real.lines.at(-1)!.summary, { ...dry.lines.at(-1)!.summary, dryRun: false });
    // A system administrator an earlier batch made counts: sysadmin may then leave the group (as the real import would let it).
    const handover = ndjson([{ username: "imp_span_newadm", password, groups: ["administrators"] }, ...Array.from({ length: 1000 }, (_, i) => ({ username: `imp_span_g${i}` })), { username: "sysadmin", groups: ["users"] }]);
    const handed = await importUsers(server(), token, handover, "application/x-ndjson", "?dryRun=true");
    assert.deepEqual([handed.lines[1001]!.line, handed.lines[1001]!.status, handed.lines[1001]!.error?.code], [1002, "updated", undefined]);
  });

  it("dry run: names handed on across batches, a profile's groups changed earlier, and others' changes meanwhile, judged as the real import judges them", { timeout: 60_000 }, async () => {
    const s = server();
    const answersOf = (lines: Line[]) => lines.filter((l) => l.line !== undefined).map((l) => [l.line, l.status, l.error?.code]);
    // alice gives her login name up, carl takes it, then carl changes again: writing carl back needs alice as she was left.
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "imp_hand_alice" } })).status, 201);
    const handed = [[{ username: "imp_hand_alice", loginName: "imp_hand_alice2" }], [{ username: "imp_hand_carl", loginName: "imp_hand_alice" }], [{ username: "imp_hand_carl", firstName: "C" }, { username: "imp_hand_dora" }]];
    const dry = await importInPieces(s, token, handed, "?dryRun=true");
    assert.deepEqual(answersOf(dry), [[1, "updated", undefined], [2, "created", undefined], [3, "updated", undefined], [4, "created", undefined]]);
    assert.deepEqual(answersOf(await importInPieces(s, token, handed)), answersOf(dry));

    // An administrator that took a name another gave up, written back for the last-administrator rule.
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "imp_sam" } })).status, 201);
    const adm4 = await s.api("POST", "/security/v1/users", { token, body: { username: "imp_adm4", password: "Fourth-Admin-Password-1" } });
    const administrators = await groupId(s, token, "administrators");
    assert.equal((await s.api("PUT", `/security/v1/users/${adm4.body.id}/user-groups/${administrators}`, { token })).status, 204);
    const demoting = await importInPieces(s, token, [[{ username: "imp_sam", loginName: "imp_sam2" }], [{ username: "imp_adm4", loginName: "imp_sam" }], [{ username: "sysadmin", groups: ["users"] }]], "?dryRun=true");
    assert.deepEqual(answersOf(demoting), [[1, "updated", undefined], [2, "updated", undefined], [3, "updated", undefined]]);
    assert.equal((await s.api("DELETE", `/security/v1/users/${adm4.body.id}/user-groups/${administrators}`, { token })).status, 204);

    // A profile's groups changed by an earlier batch are its users' groups in a later one.
    assert.equal((await s.api("POST", "/security/v1/user-groups", { token, body: { name: "imp-prof-g" } })).status, 201);
    const profile = await s.api("POST", "/security/v1/users", { token, body: { username: "imp_prof", profileId: 0 } });
    assert.equal(profile.status, 201, profile.text);
    assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "imp_prof_user", profileId: profile.body.numericId } })).status, 201);
    const viaProfile = [[{ username: "imp_prof", groups: ["imp-prof-g"] }], [{ username: "imp_prof_user", groups: ["imp-prof-g"] }]];
    const dryProfile = await importInPieces(s, token, viaProfile, "?dryRun=true");
    assert.deepEqual(answersOf(dryProfile), [[1, "updated", undefined], [2, "unchanged", undefined]]);
    assert.deepEqual(answersOf(await importInPieces(s, token, viaProfile)), answersOf(dryProfile));

    // Another administrator creates a user of the name the dry run made, and takes a login name it made: the store's wins, and no batch fails.
    const meanwhile = async () => {
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "imp_neo" } })).status, 201);
      assert.equal((await s.api("POST", "/security/v1/users", { token, body: { username: "imp_trinity", loginName: "imp_morpheus_login" } })).status, 201);
    };
    const raced = await importInPieces(s, token, [[{ username: "imp_neo" }, { username: "imp_morpheus", loginName: "imp_morpheus_login" }], [{ username: "imp_neo", firstName: "N" }, { username: "imp_morpheus", firstName: "M" }, { username: "imp_x9" }]], "?dryRun=true", meanwhile);
    assert.deepEqual(answersOf(raced).slice(2), [[3, "updated", undefined], [4, "created", undefined], [5, "created", undefined]]);
    assert.equal(raced.find((l) => l.line === 3)!.id, (await user("imp_neo"))!.id, "the id of the user the store has");
    assert.equal(raced.at(-1)!.summary?.dryRun, true);
  });

  it("dry run: a batch that disables its own caller, makes its password change due or takes its administrator role away ends the dry run where the real import ends", { timeout: 60_000 }, async () => {
    const s = server();
    const administrators = await groupId(s, token, "administrators");
    const linesOf = (lines: Line[]) => lines.map((l) => (l.line !== undefined ? [l.line, l.status] : l.error ? ["error", l.error.code] : ["summary"]));
    for (const [username, change, code] of [["imp_self_off", { enabled: false }, "ECMS1101"], ["imp_self_pwd", { changePassword: true }, "ECMS1103"]] as const) {
      const created = await s.api("POST", "/security/v1/users", { token, body: { username, password: "Self-Changing-Password-1" } });
      assert.equal((await s.api("PUT", `/security/v1/users/${created.body.id}/user-groups/${administrators}`, { token })).status, 204);
      const own = await s.login(username, "Self-Changing-Password-1");
      const pieces = [[{ username, ...change }], [{ username: `${username}_next` }]];
      const dry = await importInPieces(s, own, pieces, "?dryRun=true");
      assert.deepEqual(linesOf(dry), [[1, "updated"], ["error", code]], username);
      assert.deepEqual(linesOf(await importInPieces(s, own, pieces)), linesOf(dry), username);
    }
    // One that takes its own administrator role away (its groups: only users): refused at the next batch too.
    const secadm = await createSecurityAdministrator(s, token, "imp_self_demoted");
    const pieces = [[{ username: "imp_self_demoted", groups: [] }], [{ username: "imp_self_demoted_next" }]];
    const dry = await importInPieces(s, secadm.token, pieces, "?dryRun=true");
    assert.deepEqual(linesOf(dry), [[1, "updated"], ["error", "ECMS1103"]]);
    assert.deepEqual(linesOf(await importInPieces(s, secadm.token, pieces)), linesOf(dry));
  });

  it("two imports at once that change the same users and groups in opposite orders both finish, every row done", async () => {
    for (const name of ["dl-old", "dl-a", "dl-b"]) assert.equal((await server().api("POST", "/security/v1/user-groups", { token, body: { name } })).status, 201);
    const names = Array.from({ length: 300 }, (_, i) => `imp_dl_${i}`);
    await importUsers(server(), token, ndjson(names.map((username) => ({ username, groups: ["dl-old"] }))));
    // Each moves every user from dl-old to dl-a and dl-b, one setting first names and the other last
    // names, in opposite orders: on PostgreSQL, written in the rows' order, one of them was ended as a
    // deadlock victim and its rows sent one by one. (Creating users too would make them take turns: a
    // new user's insert waits for the other's count of users.)
    const one = names.map((username) => ({ username, firstName: "First", groups: ["dl-a", "dl-b"] }));
    const two = [...names].reverse().map((username) => ({ username, lastName: "Last", groups: ["dl-b", "dl-a"] }));
    const answers = await Promise.all([one, two].map((rows) => importUsers(server(), token, ndjson(rows))));
    for (const { lines } of answers) {
      assert.deepEqual(lines.filter((l) => l.status === "failed"), []);
      assert.equal(lines.at(-1)!.summary!.failed, 0);
    }
    for (const username of [names[0]!, names[150]!, names[299]!]) {
      const u = await user(username);
      assert.deepEqual([u?.firstName, u?.lastName, u?.groups], ["First", "Last", ["dl-a", "dl-b", "users"]], username);
    }
  });
});

describe("an import may take longer than the request timeout, but not drip", () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    // Every request must arrive within a second; an upload must keep coming at 2 000 bytes a second.
    s = await startTestServer("sqlite", { connections: { ...configFromEnv({}).connections, requestTimeoutSeconds: 1, uploadMinBytesPerSecond: 2000 } });
    token = await s.login();
  });
  after(() => s?.close());
  const port = () => Number(new URL(s.baseUrl).port);
  const row = (i: number) => `${JSON.stringify({ username: `long_${i}`, description: "x".repeat(60) })}\n`;

  it("a fast upload that lasts three times the request timeout is imported whole", { timeout: 30_000 }, async () => {
    const answer = new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: port(), path: "/portal/security/v1/users/import", method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" } }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve(text));
      });
      req.on("error", reject);
      void (async () => {
        // 30 pieces of 50 rows (about 5 KB), one every 100 ms: 50 KB a second, for 3 s or more.
        for (let piece = 0; piece < 30; piece++) {
          req.write(Array.from({ length: 50 }, (_, i) => row(piece * 50 + i)).join(""));
          await sleep(100);
        }
        req.end();
      })();
    });
    const lines = (await answer).trim().split("\n").map((l) => JSON.parse(l) as Line);
    assert.deepEqual(lines.at(-1), { summary: { created: 1500, updated: 0, unchanged: 0, failed: 0, dryRun: false } });
  });

  it("a fast upload the server is slow to read (hashing its passwords at the real cost) is not the client's fault: imported whole", { timeout: 240_000 }, async () => {
    // The time limit only catches a hang: 300 hashes at the real cost are ~15 CPU-s, and took over a minute on a busy machine.
    // The whole body (4 MB, more than the socket holds: the server reads it as it goes) is sent at once;
    // hashing the first 300 rows' passwords at the default cost takes the server longer than the request
    // timeout and what the bytes read by then earn, while the rest of the body waits in the socket.
    const slow = await startTestServer("sqlite", { argon2: configFromEnv({}).argon2, connections: { ...configFromEnv({}).connections, requestTimeoutSeconds: 1, uploadMinBytesPerSecond: 1_000_000 } });
    try {
      const rows = ndjson(Array.from({ length: 4000 }, (_, i) => ({ username: `hashed_${i}`, ...(i < 300 ? { password: `Slow-Hash-Passw0rd-${i}` } : {}), description: "x".repeat(1000) })));
      const { status, lines } = await importUsers(slow, await slow.login(), rows);
      assert.equal(status, 200);
      assert.deepEqual(lines.at(-1), { summary: { created: 4000, updated: 0, unchanged: 0, failed: 0, dryRun: false } });
    } finally {
      await slow.close();
    }
  });

  it("a dripping upload is cut: the answer ends with a 408 error line and the connection is closed", { timeout: 30_000 }, async () => {
    const socket = connect({ host: "127.0.0.1", port: port() });
    let text = "";
    socket.setEncoding("utf8").on("data", (d) => (text += d));
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(`POST /portal/security/v1/users/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n`);
    // A row of about 90 bytes every 300 ms: 300 bytes a second.
    for (let i = 0; !socket.destroyed && socket.writable && i < 200; i++) {
      const piece = row(i);
      socket.write(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
      await Promise.race([sleep(300), closed]);
    }
    await closed;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /"error":\{"code":"ECMS1006","message":"The upload is too slow/);
    // Rows that came a second or more before the cut were committed and answered, not lost with it.
    assert.match(text, /"username":"long_0","status":"(created|unchanged)"/);
  });

  it("an upload refused before its body is read (no token, a wrong type) is read on only briefly: then the connection is closed", { timeout: 30_000 }, async () => {
    for (const headers of ["Content-Type: text/csv", `Authorization: Bearer ${token}\r\nContent-Type: application/json`]) {
      const socket = connect({ host: "127.0.0.1", port: port() });
      let text = "";
      socket.setEncoding("utf8").on("data", (d) => (text += d));
      socket.on("error", () => {});
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write(`POST /portal/security/v1/users/import HTTP/1.1\r\nHost: localhost\r\n${headers}\r\nContent-Length: 100000000000\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, "a");
      let sent = 0;
      for (; !socket.destroyed && socket.writable && sent < 20_000; sent++) {
        if (!socket.write(chunk)) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed, sleep(200)]);
      }
      await closed;
      assert.match(text, /^HTTP\/1\.1 (401|415) /);
      // Cut after some MB (what is read on until the server's watch next looks — later on a busy machine —
      // and what the sockets' buffers hold), not after the 1.3 GB this client would send.
      assert.ok(sent < 5000, `${sent} chunks of 64 KiB were taken`);
    }
  });
});

describe("bulk import of clear passwords", () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    // One hash at a time and two waiting: an import must not be refused by the queue that stops login floods.
    s = await startTestServer("sqlite", { hashQueue: { concurrency: 1, maxWaiting: 2 }, argon2: configFromEnv({}).argon2 });
    token = await s.login();
  });
  after(() => s?.close());

  it("hashes a batch's passwords no faster than the hasher runs them: every row is created, none refused as busy", async () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({ username: `clear_${i}`, password: `Clear-Import-Pass-${i}` }));
    const { status, lines } = await importUsers(s, token, ndjson(rows));
    assert.equal(status, 200);
    assert.deepEqual(lines.at(-1)!.summary, { created: 12, updated: 0, unchanged: 0, failed: 0, dryRun: false }, JSON.stringify(lines.find((l) => l.error)));
    assert.equal((await s.api("POST", "/auth/v1/providers/builtin/token", { body: { username: "clear_11", password: "Clear-Import-Pass-11" } })).status, 200);
  });

  it("checks a new password against the names the account has, as a password reset does, not only those of the row", async () => {
    const body = { username: "qbert", firstName: "Bartholomew", lastName: "Quackenbush", email: "zyxwvut@example.com" };
    const created = await s.api("POST", "/security/v1/users", { token, body });
    assert.equal(created.status, 201);
    const reset = await s.api("PUT", `/security/v1/users/${created.body.id}/reset-password`, { token, body: { type: "password", value: "BartholomewQuackenbush" } });
    assert.equal(reset.status, 400);
    const { lines } = await importUsers(s, token, ndjson([{ username: "qbert", password: "BartholomewQuackenbush" }]));
    assert.equal(lines[0]!.status, "failed", JSON.stringify(lines[0]));
    assert.match(lines[0]!.error!.message, /password is refused/);
    // Names the row changes are those the password is checked against.
    const renamed = await importUsers(s, token, ndjson([{ username: "qbert", firstName: "Zed", lastName: "Zo", password: "BartholomewQuackenbush" }]));
    assert.equal(renamed.lines[0]!.status, "updated", JSON.stringify(renamed.lines[0]));
    // Names an earlier row of the same batch gave the account count too, as they would in a later batch.
    const same = await importUsers(s, token, ndjson([{ username: "qbert2", firstName: "Bartholomew", lastName: "Quackenbush" }, { username: "qbert2", password: "BartholomewQuackenbush" }]));
    assert.deepEqual(same.lines.slice(0, 2).map((l) => l.status), ["created", "failed"], JSON.stringify(same.lines));
    assert.match(same.lines[1]!.error!.message, /password is refused/);
  });
});

describe("imports running at once (ECM_IMPORTS_AT_ONCE)", () => {
  it("one more than the cap is a 503 with Retry-After before its body is read; once one has finished, the next runs", { timeout: 30_000 }, async () => {
    const s = await startTestServer("sqlite", { importsAtOnce: 1 });
    try {
      const token = await s.login();
      // An upload that is still coming: answered (its first row read), not ended.
      const req = request({ host: "127.0.0.1", port: Number(new URL(s.baseUrl).port), path: "/portal/security/v1/users/import", method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" } });
      const answered = new Promise<string>((resolve, reject) => {
        req.on("response", (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve(text));
        });
        req.on("error", reject);
      });
      const started = new Promise<void>((resolve) => req.once("response", () => resolve()));
      req.write(`${JSON.stringify({ username: "at_once_1" })}\n`);
      await started;
      const refused = await s.api("POST", "/security/v1/users/import", { token, body: ndjson([{ username: "at_once_2" }]), headers: { "content-type": "application/x-ndjson" } });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.headers.get("retry-after"), "5");
      assert.match(JSON.parse(refused.text).errorMessage, /^ECMS1901-E 1 imports are running on this server already/);
      // A client that asks before sending (curl does for a big file) hears the 503 with nothing sent.
      const asked = request({ host: "127.0.0.1", port: Number(new URL(s.baseUrl).port), path: "/portal/security/v1/users/import", method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson", "content-length": 1e9, expect: "100-continue" } });
      const first = await new Promise<string>((resolve, reject) => {
        asked.on("continue", () => resolve("100"));
        asked.on("response", (res) => resolve(String(res.statusCode)));
        asked.on("error", reject);
        asked.flushHeaders();
      });
      asked.destroy();
      req.end();
      assert.match(await answered, /"summary":\{"created":1,/);
      assert.equal(first, "503", "the first answer to a request that asks before sending");
      const next = await importUsers(s, token, ndjson([{ username: "at_once_2" }]));
      assert.deepEqual(next.lines.at(-1), { summary: { created: 1, updated: 0, unchanged: 0, failed: 0, dryRun: false } });
    } finally {
      await s.close();
    }
  });
});
