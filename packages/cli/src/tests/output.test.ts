import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { ECMPermissionError, ECMTooManyRequestsError, ECMUnavailableError } from "ecm-sdk";
import { exitCodeOf, messageOf } from "../errors.js";
import { ListPrinter, printObject } from "../output.js";

/** An output that takes one piece and is then full until it is told to drain. */
class SlowOutput extends EventEmitter {
  pieces: string[] = [];
  write(chunk: string): boolean {
    this.pieces.push(chunk);
    return false;
  }
}

test("a printer whose output is full waits for it to drain before the caller reads on", async () => {
  const out = new SlowOutput();
  const printer = new ListPrinter(out, "ndjson", ["username"]);
  await printer.drained();
  for (let i = 0; i < 5000; i++) printer.add({ username: `user-${i}`.padEnd(40, "x") });
  assert.ok(out.pieces.length > 0, "a full piece was written");
  let drained = false;
  const waiting = printer.drained().then(() => (drained = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(drained, false, "still full");
  out.emit("drain");
  await waiting;
  assert.equal(drained, true);
  await printer.drained();
});

test("a drain that comes before anyone waits for it is not waited for again (a flush from a timer)", { timeout: 5000 }, async () => {
  const out = new SlowOutput();
  const printer = new ListPrinter(out, "ndjson", ["username"]);
  printer.add({ username: "one" });
  printer.flush();
  out.emit("drain");
  await printer.drained();
});

test("an error line shows control characters escaped: nothing a server or a file says drives the terminal", () => {
  const message = messageOf(new Error("Unknown column: \x1b[31mred\x1b]0;title\x07\nnext line"));
  assert.equal(message, "Unknown column: \\x1b[31mred\\x1b]0;title\\x07 next line");
});

test("a password change due points at ecm passwd only where the server says it is made here, whatever its words", () => {
  const due = (passwordChangeIn: string) =>
    new ECMPermissionError("ECMS1103-E The password must be changed first.", { status: 403, code: "ECMS1103", additionalInfo: { passwordChangeRequired: true, passwordChangeIn } });
  assert.equal(messageOf(due("here")), 'ECMS1103-E The password must be changed first. (run "ecm passwd")');
  assert.equal(messageOf(due("directory")), "ECMS1103-E The password must be changed first.");
  // A server without passwordChangeIn: its message names the route where the change is made here.
  const older = (text: string) => new ECMPermissionError(`ECMS1103-E ${text}`, { status: 403, code: "ECMS1103", serverMessage: text, additionalInfo: { passwordChangeRequired: true } });
  assert.match(messageOf(older("The password must be changed first: PUT /security/v1/me/password.")), /\(run "ecm passwd"\)$/);
  assert.doesNotMatch(messageOf(older("The password must be changed first, in the directory this account comes from; then log in again.")), /ecm passwd/);
});

test("a table shows the rows flushed so far (an import's first batch), sized by them; later rows keep those widths", () => {
  const pieces: string[] = [];
  const printer = new ListPrinter({ write: (chunk: string) => pieces.push(chunk) > 0 }, "table", ["line", "result"]);
  printer.add({ line: 1, result: "created" });
  printer.flush();
  assert.equal(pieces.join(""), "LINE  RESULT\n1     created\n");
  printer.add({ line: 2, result: "failed" });
  printer.end();
  assert.equal(pieces.join(""), "LINE  RESULT\n1     created\n2     failed\n");
});

test("a table shows bidi controls, invisible spaces and line separators escaped (they reorder the row or hide in a name), and keeps the joiners names are written with", async () => {
  const out = new SlowOutput();
  const printer = new ListPrinter(out, "table", ["username", "displayName"]);
  printer.add({ username: "zw-demo", displayName: "sys\u200badmin \u202eevil\u2028next" });
  // Joiners that names and emoji are written with stay as they are.
  printer.add({ username: "fa-demo", displayName: "می\u200cخواهم 👩\u200d💻" });
  printer.flush();
  const text = out.pieces.join("");
  assert.match(text, /sys\\u\{200b\}admin \\u\{202e\}evil\\u\{2028\}next/);
  assert.doesNotMatch(text, /[\u200b\u202e\u2028]/);
  assert.ok(text.includes("می\u200cخواهم 👩\u200d💻"), text);
});

test("a server refusing more requests for now (429) is a try-again-later exit, as an unavailable one (503)", () => {
  assert.equal(exitCodeOf(new ECMTooManyRequestsError("Too many login attempts; try again in 40 s.", { status: 429 })), 8);
  assert.equal(exitCodeOf(new ECMUnavailableError("busy", { status: 503 })), 8);
});

test("an object's table shows a list whose items hold a comma one item a line (a sync's problems: DNs and sentences), other lists on one", () => {
  let text = "";
  const problems = ["cn=Müller\\2C Hans,ou=people: The username or login name \"hmueller\" is taken, as is its email.", "cn=bad user,ou=people: The username is not valid here."];
  printObject({ write: (s: string) => (text += s) }, "table", ["state", "groups", "problems"], { state: "succeeded", groups: ["staff", "users"], problems });
  assert.equal(text, ["state:     succeeded", "groups:    staff, users", `problems:  ${problems[0]}`, `           ${problems[1]}`, ""].join("\n"));
});

test("a cell listing objects numbers their fields by item (0.name=…;1.name=…), nested too: which field is whose item is never a guess", () => {
  const row = {
    problems: [{ dn: "cn=a;b", message: "taken" }, { dn: "cn=c" }],
    details: { after: { groupMappings: [{ groupDn: "cn=staff,dc=example", localGroupId: "g1" }], groupEntryDnList: ["cn=x", "cn=y"] } },
  };
  let csv = "";
  printObject({ write: (s: string) => (csv += s) }, "csv", ["problems", "details"], row);
  assert.equal(
    csv,
    'problems,details\r\n0.dn=cn=a\\;b;0.message=taken;1.dn=cn=c,"after.groupMappings.0.groupDn=cn=staff,dc=example;after.groupMappings.0.localGroupId=g1;after.groupEntryDnList=cn=x\\;cn=y"\r\n',
  );
  let table = "";
  printObject({ write: (s: string) => (table += s) }, "table", ["problems"], { problems: [{ dn: "cn=a" }, { dn: "cn=b" }] });
  assert.equal(table, "problems:  0.dn=cn=a, 1.dn=cn=b\n");
});
