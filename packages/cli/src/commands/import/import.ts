import { readFileSync } from "node:fs";
import { ECMConflictError, type ECMUser, type UserFields } from "ecm-sdk";
import { arg, noMoreArgs } from "../../args.js";
import type { Command, Ctx } from "../../command.js";
import { parseCsvRecords, type CsvRecord } from "../../csv.js";
import { CliError, ExitCode, exitCodeOf, messageOf } from "../../errors.js";
import { ListPrinter, Progress } from "../../output.js";
import { readStdin } from "../../prompt.js";

export const importCommand: Command = {
  path: ["import"],
  args: "<users.csv>",
  summary: "create (or with --update, update) users from a CSV file",
  options: { update: { type: "boolean" }, "dry-run": { type: "boolean" } },
  optionHelp: [
    "--update              update users that already exist (else they are reported as conflicts)",
    "--dry-run             check the file, change nothing",
    "Header row names the columns: username (required), loginName, displayName, firstName, lastName,",
    "email, remark, locked, validFrom, validTo, profileId, changePassword, neverExpire, password,",
    "groups (names separated by \";\"). Use - to read standard input.",
  ],
  async run(ctx) {
    const file = arg(ctx, 0, "users.csv");
    noMoreArgs(ctx, 1);
    return importUsers(ctx, file);
  },
};

const IMPORT_COLUMNS: Record<string, string> = {
  username: "username",
  loginname: "loginName",
  login_name: "loginName",
  displayname: "displayName",
  display_name: "displayName",
  firstname: "firstName",
  first_name: "firstName",
  lastname: "lastName",
  last_name: "lastName",
  email: "email",
  remark: "remark",
  description: "remark",
  locked: "locked",
  validfrom: "validFrom",
  valid_from: "validFrom",
  validto: "validTo",
  valid_to: "validTo",
  profileid: "profileId",
  profile_id: "profileId",
  changepassword: "changePwd",
  change_password: "changePwd",
  changepwd: "changePwd",
  neverexpire: "neverExpire",
  never_expire: "neverExpire",
  password: "password",
  groups: "groups",
};

function parseBool(s: string, col: string): boolean {
  const v = s.trim().toLowerCase();
  if (["true", "yes", "1", "y"].includes(v)) return true;
  if (["false", "no", "0", "n"].includes(v)) return false;
  throw new Error(`${col}: not a boolean: ${s}`);
}

/** Errors about the session or the server, not about a row. */
function stopsImport(err: unknown): boolean {
  const code = exitCodeOf(err);
  return code === ExitCode.auth || code === ExitCode.unavailable;
}

async function importUsers(ctx: Ctx, file: string): Promise<number> {
  let text: string;
  try {
    text = file === "-" ? await readStdin(ctx.io.stdin) : readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.error);
  }
  let rows: CsvRecord[];
  try {
    rows = parseCsvRecords(text);
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`, ExitCode.invalid);
  }
  const header = rows.shift();
  if (!header) throw new CliError(`${file}: empty file`, ExitCode.invalid);
  const keys = header.cells.map((h) => {
    const k = IMPORT_COLUMNS[h.trim().toLowerCase()];
    if (!k) throw new CliError(`${file}: unknown column "${h}"`, ExitCode.invalid);
    return k;
  });
  if (!keys.includes("username")) throw new CliError(`${file}: no username column`, ExitCode.invalid);

  const dry = ctx.values["dry-run"] === true;
  const update = ctx.values.update === true;
  const sec = dry ? undefined : ctx.ecm().security;
  const groupCache = new Map<string, string>();
  const printer = new ListPrinter(ctx.io.stdout, ctx.format, ["line", "username", "result", "message"]);
  const progress = new Progress(ctx.io.stderr, "Importing", rows.length);
  const counts = { created: 0, updated: 0, failed: 0, valid: 0 };
  const firstLineOf = new Map<string, number>();
  const summary = () =>
    dry
      ? `${counts.valid} valid, ${counts.failed} invalid of ${rows.length} rows`
      : `${counts.created} created, ${counts.updated} updated, ${counts.failed} failed of ${rows.length} rows`;
  for (let i = 0; i < rows.length; i++) {
    const { line, cells } = rows[i]!;
    const rec: Record<string, string> = {};
    keys.forEach((k, j) => (rec[k] = (cells[j] ?? "").trim()));
    const username = rec.username ?? "";
    let result = "";
    let message = "";
    try {
      if (cells.length !== keys.length) throw new Error(`expected ${keys.length} fields, found ${cells.length}`);
      if (!username) throw new Error("username is empty");
      const first = firstLineOf.get(username.toLowerCase());
      if (first !== undefined) throw new Error(`username repeats line ${first}`);
      firstLineOf.set(username.toLowerCase(), line);
      const f: UserFields & { password?: string } = {};
      const nn = (s: string | undefined) => (s === undefined || s === "" ? undefined : s);
      if (nn(rec.loginName)) f.loginName = rec.loginName!;
      if (nn(rec.displayName)) f.displayName = rec.displayName!;
      if (nn(rec.firstName)) f.firstName = rec.firstName!;
      if (nn(rec.lastName)) f.lastName = rec.lastName!;
      if (nn(rec.email)) f.email = rec.email!;
      if (nn(rec.remark)) f.remark = rec.remark!;
      if (nn(rec.locked)) f.locked = parseBool(rec.locked!, "locked");
      if (nn(rec.changePwd)) f.changePwd = parseBool(rec.changePwd!, "changePassword");
      if (nn(rec.neverExpire)) f.neverExpire = parseBool(rec.neverExpire!, "neverExpire");
      for (const k of ["validFrom", "validTo"] as const) {
        if (nn(rec[k])) {
          const d = new Date(rec[k]!);
          if (Number.isNaN(d.getTime())) throw new Error(`${k}: not a date: ${rec[k]}`);
          f[k] = d;
        }
      }
      if (nn(rec.profileId)) {
        if (!/^-?\d+$/.test(rec.profileId!)) throw new Error(`profileId: not an integer: ${rec.profileId}`);
        f.profileId = Number(rec.profileId);
      }
      const groups = (rec.groups ?? "").split(/[;|]/).map((g) => g.trim()).filter(Boolean);
      if (dry || !sec) {
        result = "valid";
        counts.valid++;
      } else {
        const groupGuids: string[] = [];
        for (const g of groups) {
          let guid = groupCache.get(g.toLowerCase());
          if (!guid) {
            guid = (await sec.group(g)).guid;
            groupCache.set(g.toLowerCase(), guid);
          }
          groupGuids.push(guid);
        }
        let user: ECMUser;
        let outcome: "created" | "updated";
        try {
          user = await sec.createUser(username, { ...f, ...(nn(rec.password) ? { password: rec.password! } : {}) });
          outcome = "created";
        } catch (err) {
          if (!(err instanceof ECMConflictError) || !update) throw err;
          const existing = await sec.user(username);
          user = Object.keys(f).length > 0 ? await sec.updateUser(existing.guid, f) : existing;
          if (nn(rec.password)) await sec.resetPassword(existing.guid, rec.password!);
          outcome = "updated";
        }
        try {
          for (const g of groupGuids) await sec.addUserToGroup(user.guid, g);
        } catch (err) {
          // The row counts once: as failed, saying what did happen.
          throw new Error(`${outcome}, but not added to all its groups: ${messageOf(err)}`);
        }
        result = outcome;
        counts[outcome]++;
      }
    } catch (err) {
      if (stopsImport(err)) {
        // Not this row's fault: every further row would fail alike (and bad credentials would lock the account out).
        printer.end();
        progress.done(`${summary()}; stopped at line ${line}`);
        throw err;
      }
      counts.failed++;
      result = "failed";
      message = messageOf(err);
    }
    printer.add({ line, username, result, message });
    progress.update(i + 1, username);
  }
  printer.end();
  progress.done(summary());
  return counts.failed > 0 ? ExitCode.error : ExitCode.ok;
}
