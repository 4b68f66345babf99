import { closeSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  ECM,
  ECMConflictError,
  isGuid,
  normalizeBaseUrl,
  type ECMGroup,
  type ECMRole,
  type ECMUser,
  type UserFields,
} from "ecm-sdk";
import { openPrivateTemp, readConfig, writeConfig } from "./config.js";
import { parseCsvRecords, type CsvRecord } from "./csv.js";
import { CliError, EXIT_CODES_HELP, ExitCode, UsageError, exitCodeOf, messageOf } from "./errors.js";
import { ListPrinter, OUTPUT_FORMATS, Progress, printList, printObject, type OutputFormat, type Row, type Writer } from "./output.js";

export interface Io {
  stdout: Writer;
  stderr: Writer;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Ctx {
  io: Io;
  format: OutputFormat;
  values: Values;
  args: string[];
  ecm(): ECM;
  out(columns: string[], row: Row): void;
  list(columns: string[], rows: Iterable<Row>): void;
  note(text: string): void;
}

interface Command {
  path: string[];
  args: string;
  summary: string;
  options?: Options;
  /** Help lines for the options. */
  optionHelp?: string[];
  /** Default output format when --output is not given. */
  defaultFormat?: OutputFormat;
  run(ctx: Ctx): Promise<number | void>;
}

const GLOBAL_OPTIONS: Options = {
  output: { type: "string", short: "o" },
  url: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};
const GLOBAL_HELP = [
  "-o, --output FORMAT   table (default), json, csv or ndjson",
  "    --url URL         server base URL (else ECM_URL, else the URL saved by ecm login)",
  "    --timeout MS      timeout of each request in milliseconds",
  "-h, --help            show help (ecm --version: the version)",
];

const USER_COLUMNS = ["id", "username", "loginName", "displayName", "email", "locked", "profileId", "guid"];
const USER_EXTENDED_COLUMNS = [...USER_COLUMNS, "remark", "validFrom", "validTo", "groups"];
const GROUP_COLUMNS = ["id", "name", "description", "profileUserId", "guid"];
const ROLE_COLUMNS = ["name", "description", "builtin"];

const USER_FIELD_OPTIONS: Options = {
  "login-name": { type: "string" },
  "display-name": { type: "string" },
  "first-name": { type: "string" },
  "last-name": { type: "string" },
  email: { type: "string" },
  remark: { type: "string" },
  "profile-id": { type: "string" },
  "valid-from": { type: "string" },
  "valid-to": { type: "string" },
  locked: { type: "boolean" },
  unlocked: { type: "boolean" },
  "change-password": { type: "boolean" },
  "no-change-password": { type: "boolean" },
  "never-expire": { type: "boolean" },
  "no-never-expire": { type: "boolean" },
};
const USER_FIELD_HELP = [
  "--login-name NAME, --display-name NAME, --first-name NAME, --last-name NAME",
  "--email ADDRESS, --remark TEXT, --profile-id N",
  "--valid-from DATE, --valid-to DATE   ISO 8601 date or time; \"\" clears",
  "--locked | --unlocked",
  "--change-password | --no-change-password   must change the password at next login",
  "--never-expire | --no-never-expire         password never expires",
];

function str(v: Values, k: string): string | undefined {
  const x = v[k];
  return typeof x === "string" ? x : undefined;
}

function parseDate(s: string, flag: string): Date | null {
  if (s === "") return null;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag}: not a date: ${s}`);
  return d;
}

/** true for --yes, false for --no, undefined for neither; both is a usage error. */
function flagPair(v: Values, yes: string, no: string): boolean | undefined {
  if (v[yes] && v[no]) throw new UsageError(`--${yes} and --${no} exclude each other`);
  return v[yes] ? true : v[no] ? false : undefined;
}

/** The filters `users list` and `users count` share. */
function userFilter(v: Values): { search?: string; locked?: boolean } {
  return { search: str(v, "search"), locked: flagPair(v, "locked", "unlocked") };
}

function userFieldsFrom(v: Values): UserFields {
  const f: UserFields = {};
  const nullable = (s: string | undefined) => (s === undefined ? undefined : s === "" ? null : s);
  if (str(v, "login-name") !== undefined) f.loginName = str(v, "login-name")!;
  if (str(v, "display-name") !== undefined) f.displayName = str(v, "display-name")!;
  if (str(v, "first-name") !== undefined) f.firstName = nullable(str(v, "first-name"));
  if (str(v, "last-name") !== undefined) f.lastName = nullable(str(v, "last-name"));
  if (str(v, "email") !== undefined) f.email = nullable(str(v, "email"));
  if (str(v, "remark") !== undefined) f.remark = nullable(str(v, "remark"));
  const pid = str(v, "profile-id");
  if (pid !== undefined) {
    if (!/^-?\d+$/.test(pid)) throw new UsageError(`--profile-id: not an integer: ${pid}`);
    f.profileId = Number(pid);
  }
  if (str(v, "valid-from") !== undefined) f.validFrom = parseDate(str(v, "valid-from")!, "valid-from");
  if (str(v, "valid-to") !== undefined) f.validTo = parseDate(str(v, "valid-to")!, "valid-to");
  const pair = (yes: string, no: string) => flagPair(v, yes, no);
  const locked = pair("locked", "unlocked");
  if (locked !== undefined) f.locked = locked;
  const cp = pair("change-password", "no-change-password");
  if (cp !== undefined) f.changePwd = cp;
  const ne = pair("never-expire", "no-never-expire");
  if (ne !== undefined) f.neverExpire = ne;
  return f;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let data = "";
  for await (const chunk of stdin) data += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
  return data;
}

/** Reads a password without echo from a terminal. */
async function promptHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || typeof stdin.setRawMode !== "function") throw new UsageError("no terminal to ask for the password");
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let pw = "";
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n") {
          cleanup();
          io.stderr.write("\n");
          return resolve(pw);
        }
        if (ch === "\u0003") {
          cleanup();
          io.stderr.write("\n");
          return reject(new CliError("cancelled", ExitCode.error));
        }
        if (ch === "\u007f" || ch === "\b") pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    const cleanup = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
}

/** A password from --password-stdin, an environment variable, or a hidden prompt. */
async function readPassword(ctx: Ctx, envName: string, prompt: string): Promise<string> {
  let pw: string | undefined;
  if (ctx.values["password-stdin"]) pw = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
  else if (ctx.io.env[envName]) pw = ctx.io.env[envName];
  else if (ctx.io.stdin.isTTY) pw = await promptHidden(ctx.io, prompt);
  else throw new UsageError(`no password: use --password-stdin or set ${envName}`);
  if (!pw) throw new UsageError("the password is empty");
  return pw;
}

function arg(ctx: Ctx, i: number, name: string): string {
  const a = ctx.args[i];
  if (a === undefined || a === "") throw new UsageError(`missing argument <${name}>`);
  return a;
}

function noMoreArgs(ctx: Ctx, n: number): void {
  if (ctx.args.length > n) throw new UsageError(`unexpected argument: ${ctx.args[n]}`);
}

/** A user named by guid or username. */
async function findUser(ctx: Ctx, ref: string): Promise<ECMUser<true>> {
  const sec = ctx.ecm().security;
  return isGuid(ref) ? sec.getUser(ref) : sec.user(ref);
}

async function findGroup(ctx: Ctx, ref: string): Promise<ECMGroup> {
  const sec = ctx.ecm().security;
  return isGuid(ref) ? sec.getGroup(ref) : sec.group(ref);
}

/** `groups add-member|remove-member <group> <user>...`: one membership change per user named. */
function membershipCommand(
  name: string,
  summary: string,
  done: string,
  preposition: string,
  change: (sec: ReturnType<Ctx["ecm"]>["security"], userGuid: string, groupGuid: string) => Promise<unknown>,
): Command {
  return {
    path: ["groups", name],
    args: "<group> <user>...",
    summary,
    async run(ctx) {
      const g = await findGroup(ctx, arg(ctx, 0, "group"));
      arg(ctx, 1, "user");
      for (const ref of ctx.args.slice(1)) {
        const u = await findUser(ctx, ref);
        await change(ctx.ecm().security, u.guid, g.guid);
        ctx.note(`${done} ${u.username} ${preposition} ${g.name}`);
      }
    },
  };
}

const userRow = (u: ECMUser): Row => ({ ...u });
const groupRow = (g: ECMGroup): Row => ({ ...g });
const roleRow = (r: ECMRole): Row => ({ ...r });

// ---------------------------------------------------------------------------------------------

const commands: Command[] = [
  {
    path: ["login"],
    args: "",
    summary: "log in and store the server URL and a token (never the password)",
    options: { username: { type: "string", short: "u" }, "password-stdin": { type: "boolean" } },
    optionHelp: [
      "-u, --username NAME   (else ECM_USERNAME, else the saved one, else sysadmin)",
      "    --password-stdin  read the password from standard input (else ECM_PASSWORD, else a prompt)",
    ],
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const saved = readConfig(ctx.io.env);
      const url = str(ctx.values, "url") ?? ctx.io.env.ECM_URL ?? saved.url;
      if (!url) throw new UsageError("no server URL: use --url or set ECM_URL");
      const username = str(ctx.values, "username") ?? ctx.io.env.ECM_USERNAME ?? saved.username ?? "sysadmin";
      const password = await readPassword(ctx, "ECM_PASSWORD", `Password for ${username}: `);
      const ecm = new ECM({ baseUrl: url, username, password, ...timeoutOf(ctx) });
      await ecm.login();
      const path = writeConfig(ctx.io.env, { url: ecm.baseUrl, token: ecm.token!, username });
      ctx.note(`Logged in to ${ecm.baseUrl} as ${username} (token saved in ${path})`);
    },
  },
  {
    path: ["logout"],
    args: "",
    summary: "revoke the saved token and forget it",
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const saved = readConfig(ctx.io.env);
      if (saved.token && saved.url) {
        try {
          await new ECM({ baseUrl: saved.url, token: saved.token, ...timeoutOf(ctx) }).logout();
        } catch {
          // already expired or unreachable: forgetting it locally is what matters
        }
      }
      const rest: typeof saved = { ...saved };
      delete rest.token;
      writeConfig(ctx.io.env, rest);
      ctx.note("Logged out");
    },
  },
  {
    path: ["whoami"],
    args: "",
    summary: "show the signed-in account",
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const me = await ctx.ecm().security.me();
      ctx.out(USER_EXTENDED_COLUMNS, userRow(me));
    },
  },
  // ----- users
  {
    path: ["users", "list"],
    args: "",
    summary: "list users (streams page by page)",
    options: {
      search: { type: "string", short: "s" },
      locked: { type: "boolean" },
      unlocked: { type: "boolean" },
      extended: { type: "boolean", short: "x" },
      "page-size": { type: "string" },
    },
    optionHelp: [
      "-s, --search TEXT     substring of username, first or last name or email (case-insensitive)",
      "    --locked          only locked accounts",
      "    --unlocked        only unlocked accounts",
      "-x, --extended        also groups, remark, validFrom, validTo",
      "    --page-size N     users per request (default 500)",
    ],
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const filter = userFilter(ctx.values);
      const ps = str(ctx.values, "page-size");
      const pageSize = ps === undefined ? 500 : Number(ps);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) throw new UsageError("--page-size must be 1..10000");
      const extended = ctx.values.extended === true;
      const printer = new ListPrinter(ctx.io.stdout, ctx.format, extended ? USER_EXTENDED_COLUMNS : USER_COLUMNS);
      for await (const u of ctx.ecm().security.iterUsers({ extendedInfo: extended, pageSize, ...filter })) {
        printer.add(userRow(u));
      }
      printer.end();
    },
  },
  {
    path: ["users", "count"],
    args: "",
    summary: "count users",
    options: { search: { type: "string", short: "s" }, locked: { type: "boolean" }, unlocked: { type: "boolean" } },
    optionHelp: ["-s, --search TEXT, --locked, --unlocked   as for users list"],
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const filter = userFilter(ctx.values);
      const n = await ctx.ecm().security.countUsers(filter);
      if (ctx.format === "table") ctx.io.stdout.write(`${n}\n`);
      else ctx.out(["count"], { count: n });
    },
  },
  {
    path: ["users", "show"],
    args: "<user>",
    summary: "show one user (by username or guid), with groups",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      ctx.out(USER_EXTENDED_COLUMNS, userRow(await findUser(ctx, ref)));
    },
  },
  {
    path: ["users", "create"],
    args: "<username>",
    summary: "create a user",
    options: { ...USER_FIELD_OPTIONS, "password-stdin": { type: "boolean" }, group: { type: "string", short: "g", multiple: true } },
    optionHelp: [
      ...USER_FIELD_HELP,
      "--password-stdin      read an initial password from standard input (else ECM_NEW_PASSWORD; none: cannot log in)",
      "-g, --group NAME      also add to this group (repeatable)",
    ],
    async run(ctx) {
      const username = arg(ctx, 0, "username");
      noMoreArgs(ctx, 1);
      const fields = userFieldsFrom(ctx.values);
      let password: string | undefined;
      if (ctx.values["password-stdin"] || ctx.io.env.ECM_NEW_PASSWORD) password = await readPassword(ctx, "ECM_NEW_PASSWORD", "");
      const sec = ctx.ecm().security;
      const groups = (ctx.values.group as string[] | undefined) ?? [];
      const resolved = [];
      for (const g of groups) resolved.push(await findGroup(ctx, g));
      let u = await sec.createUser(username, { ...fields, ...(password !== undefined ? { password } : {}) });
      for (const g of resolved) await sec.addUserToGroup(u.guid, g.guid);
      if (resolved.length > 0) u = await sec.getUser(u.guid);
      ctx.out(USER_EXTENDED_COLUMNS, userRow(u));
    },
  },
  {
    path: ["users", "update"],
    args: "<user>",
    summary: "change fields of a user (others keep their value)",
    options: USER_FIELD_OPTIONS,
    optionHelp: USER_FIELD_HELP,
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const fields = userFieldsFrom(ctx.values);
      if (Object.keys(fields).length === 0) throw new UsageError("nothing to change: give at least one field option");
      const u = await findUser(ctx, ref);
      ctx.out(USER_EXTENDED_COLUMNS, userRow(await ctx.ecm().security.updateUser(u.guid, fields)));
    },
  },
  {
    path: ["users", "lock"],
    args: "<user>",
    summary: "lock (disable) a user",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const u = await findUser(ctx, ref);
      ctx.out(USER_EXTENDED_COLUMNS, userRow(await ctx.ecm().security.lockUser(u.guid)));
    },
  },
  {
    path: ["users", "unlock"],
    args: "<user>",
    summary: "unlock (enable) a user and clear a lockout after failed logins",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const sec = ctx.ecm().security;
      const u = await findUser(ctx, ref);
      await sec.clearLockout(u.guid);
      ctx.out(USER_EXTENDED_COLUMNS, userRow(await sec.unlockUser(u.guid)));
    },
  },
  {
    path: ["users", "delete"],
    args: "<user>",
    summary: "delete a user",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const u = await findUser(ctx, ref);
      await ctx.ecm().security.deleteUser(u.guid);
      ctx.note(`Deleted user ${u.username}`);
    },
  },
  {
    path: ["users", "reset-password"],
    args: "<user>",
    summary: "set a new password for a user",
    options: { "password-stdin": { type: "boolean" } },
    optionHelp: ["--password-stdin      read the new password from standard input (else ECM_NEW_PASSWORD, else a prompt)"],
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const password = await readPassword(ctx, "ECM_NEW_PASSWORD", "New password: ");
      const u = await findUser(ctx, ref);
      await ctx.ecm().security.resetPassword(u.guid, password);
      ctx.note(`Password of ${u.username} reset`);
    },
  },
  {
    path: ["users", "groups"],
    args: "<user>",
    summary: "list the groups of a user",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const u = await findUser(ctx, ref);
      ctx.list(GROUP_COLUMNS, (await ctx.ecm().security.userGroups(u.guid)).map(groupRow));
    },
  },
  {
    path: ["users", "roles"],
    args: "<user>",
    summary: "list the effective roles of a user",
    async run(ctx) {
      const ref = arg(ctx, 0, "user");
      noMoreArgs(ctx, 1);
      const u = await findUser(ctx, ref);
      ctx.list(ROLE_COLUMNS, (await ctx.ecm().security.roles(u.guid)).map(roleRow));
    },
  },
  // ----- groups
  {
    path: ["groups", "list"],
    args: "",
    summary: "list groups",
    options: { search: { type: "string", short: "s" } },
    optionHelp: ["-s, --search TEXT     substring of the group name"],
    async run(ctx) {
      noMoreArgs(ctx, 0);
      const search = str(ctx.values, "search");
      ctx.list(GROUP_COLUMNS, (await ctx.ecm().security.groups(search !== undefined ? { search } : {})).map(groupRow));
    },
  },
  {
    path: ["groups", "show"],
    args: "<group>",
    summary: "show one group (by name or guid)",
    async run(ctx) {
      const ref = arg(ctx, 0, "group");
      noMoreArgs(ctx, 1);
      ctx.out(GROUP_COLUMNS, groupRow(await findGroup(ctx, ref)));
    },
  },
  {
    path: ["groups", "create"],
    args: "<name>",
    summary: "create a group",
    options: { description: { type: "string", short: "d" } },
    optionHelp: ["-d, --description TEXT"],
    async run(ctx) {
      const name = arg(ctx, 0, "name");
      noMoreArgs(ctx, 1);
      const description = str(ctx.values, "description");
      ctx.out(GROUP_COLUMNS, groupRow(await ctx.ecm().security.createGroup(name, description !== undefined ? { description } : {})));
    },
  },
  {
    path: ["groups", "update"],
    args: "<group>",
    summary: "rename a group or change its description",
    options: { name: { type: "string", short: "n" }, description: { type: "string", short: "d" } },
    optionHelp: ["-n, --name NAME", "-d, --description TEXT   (\"\" clears)"],
    async run(ctx) {
      const ref = arg(ctx, 0, "group");
      noMoreArgs(ctx, 1);
      const name = str(ctx.values, "name");
      const description = str(ctx.values, "description");
      if (name === undefined && description === undefined) throw new UsageError("nothing to change: give --name or --description");
      const g = await findGroup(ctx, ref);
      const updated = await ctx.ecm().security.updateGroup(g.guid, {
        ...(name !== undefined ? { name } : {}),
        ...(description !== undefined ? { description: description === "" ? null : description } : {}),
      });
      ctx.out(GROUP_COLUMNS, groupRow(updated));
    },
  },
  {
    path: ["groups", "delete"],
    args: "<group>",
    summary: "delete a group",
    async run(ctx) {
      const ref = arg(ctx, 0, "group");
      noMoreArgs(ctx, 1);
      const g = await findGroup(ctx, ref);
      await ctx.ecm().security.deleteGroup(g.guid);
      ctx.note(`Deleted group ${g.name}`);
    },
  },
  {
    path: ["groups", "members"],
    args: "<group>",
    summary: "list the members of a group",
    async run(ctx) {
      const ref = arg(ctx, 0, "group");
      noMoreArgs(ctx, 1);
      const g = await findGroup(ctx, ref);
      ctx.list(USER_COLUMNS, (await ctx.ecm().security.groupMembers(g.guid)).map(userRow));
    },
  },
  membershipCommand("add-member", "add users to a group", "Added", "to", (sec, user, group) => sec.addUserToGroup(user, group)),
  membershipCommand("remove-member", "remove users from a group", "Removed", "from", (sec, user, group) => sec.removeUserFromGroup(user, group)),
  {
    path: ["groups", "roles"],
    args: "<group>",
    summary: "list the roles granted to a group",
    options: { available: { type: "boolean" } },
    optionHelp: ["--available           the roles that could still be granted instead"],
    async run(ctx) {
      const ref = arg(ctx, 0, "group");
      noMoreArgs(ctx, 1);
      const g = await findGroup(ctx, ref);
      const sec = ctx.ecm().security;
      const roles = ctx.values.available ? await sec.availableGroupRoles(g.guid) : await sec.groupRoles(g.guid);
      ctx.list(ROLE_COLUMNS, roles.map(roleRow));
    },
  },
  // ----- roles
  {
    path: ["roles", "list"],
    args: "",
    summary: "list all roles",
    async run(ctx) {
      noMoreArgs(ctx, 0);
      ctx.list(ROLE_COLUMNS, (await ctx.ecm().security.roles()).map(roleRow));
    },
  },
  {
    path: ["roles", "grant"],
    args: "<group> <role>",
    summary: "grant a role to a group",
    async run(ctx) {
      const g = await findGroup(ctx, arg(ctx, 0, "group"));
      const role = arg(ctx, 1, "role");
      noMoreArgs(ctx, 2);
      await ctx.ecm().security.grantRole(g.guid, role);
      ctx.note(`Granted ${role} to ${g.name}`);
    },
  },
  {
    path: ["roles", "revoke"],
    args: "<group> <role>",
    summary: "revoke a role from a group",
    async run(ctx) {
      const g = await findGroup(ctx, arg(ctx, 0, "group"));
      const role = arg(ctx, 1, "role");
      noMoreArgs(ctx, 2);
      await ctx.ecm().security.revokeRole(g.guid, role);
      ctx.note(`Revoked ${role} from ${g.name}`);
    },
  },
  // ----- import / export
  {
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
  },
  {
    path: ["export"],
    args: "",
    summary: "export users, groups, memberships and role mappings as JSON",
    defaultFormat: "json",
    options: { group: { type: "string", short: "g", multiple: true }, file: { type: "string", short: "f" } },
    optionHelp: [
      "-g, --group NAME      only these groups and their members (repeatable)",
      "-f, --file PATH       write to this file instead of standard output",
      "Output: json (default) is the server's export document as it streams; ndjson is one {\"kind\",…} line per record.",
    ],
    async run(ctx) {
      noMoreArgs(ctx, 0);
      return exportAll(ctx);
    },
  },
];

// ---------------------------------------------------------------------------------------------

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

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Where export output goes: standard output (waiting when the pipe is full) or a file created 0600
 * under a temporary name and renamed when complete, so a failed export leaves no partial file.
 */
class ExportSink {
  #fd: number | undefined;
  #tmp = "";
  #pending = "";
  constructor(
    readonly out: Writer,
    readonly file: string | undefined,
  ) {
    if (file) ({ tmp: this.#tmp, fd: this.#fd } = openPrivateTemp(file));
  }

  /** Small pieces are batched: millions of tiny writes would cost more than the export. */
  async write(text: string): Promise<void> {
    this.#pending += text;
    if (this.#pending.length >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    if (this.#fd !== undefined) writeSync(this.#fd, text);
    else if (this.out.write(text) === false && this.out.once) {
      await new Promise<void>((resolve) => this.out.once!("drain", () => resolve()));
    }
  }

  async close(ok: boolean): Promise<void> {
    if (ok) await this.flush();
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    if (ok) renameSync(this.#tmp, this.file!);
    else rmSync(this.#tmp, { force: true });
  }
}

async function exportAll(ctx: Ctx): Promise<void> {
  const groups = (ctx.values.group as string[] | undefined) ?? [];
  if (ctx.format !== "json" && ctx.format !== "ndjson") throw new UsageError("export writes json or ndjson");
  const ecm = ctx.ecm();
  const sec = ecm.security;
  const guids: string[] = [];
  for (const g of groups) guids.push((await findGroup(ctx, g)).guid);
  const tty = ctx.io.stderr.isTTY === true;
  // On a terminal: a bar over the users exported so far (counted as they stream in) of all users.
  const total = tty && guids.length === 0 ? await sec.countUsers() : 0;
  const progress = new Progress(ctx.io.stderr, "Exporting", total);
  progress.line(`exporting from ${ecm.baseUrl}${groups.length ? ` (groups: ${groups.join(", ")})` : ""}`);
  const file = str(ctx.values, "file");
  const selected = guids.length > 0 ? guids : null;
  const sink = new ExportSink(ctx.io.stdout, file);
  let summary: string;
  try {
    if (ctx.format === "ndjson") {
      const counts = new Map<string, number>();
      for await (const { kind, value } of sec.iterExport(selected)) {
        const n = (counts.get(kind) ?? 0) + 1;
        counts.set(kind, n);
        const isItem = kind !== "exportedAt" && value !== null && typeof value === "object" && !Array.isArray(value);
        await sink.write(JSON.stringify(isItem ? { kind, ...(value as object) } : { kind, value }) + "\n");
        if (kind === "users") progress.update(n, "users");
      }
      summary = [...counts].filter(([k]) => k !== "exportedAt").map(([k, n]) => `${n} ${k}`).join(", ");
    } else {
      // The server's document passes through byte for byte; users are counted as they stream by.
      const decoder = new TextDecoder();
      const needle = '"loginName":';
      let tail = "";
      let users = 0;
      let bytes = 0;
      for await (const chunk of sec.exportSecuritySystemStream(selected)) {
        const piece = decoder.decode(chunk, { stream: true });
        await sink.write(piece);
        bytes += chunk.byteLength;
        const text = tail + piece;
        for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) users++;
        tail = text.slice(-(needle.length - 1));
        progress.update(users, `users, ${formatBytes(bytes)}`);
      }
      await sink.write(decoder.decode() + "\n");
      summary = `${users} users, ${formatBytes(bytes)}`;
    }
  } catch (err) {
    await sink.close(false);
    throw err;
  }
  await sink.close(true);
  progress.done(`Exported ${summary}${file ? ` to ${file}` : ""}`);
}

function timeoutOf(ctx: Ctx): { timeout?: number } {
  const t = str(ctx.values, "timeout");
  if (t === undefined) return {};
  const n = Number(t);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError("--timeout must be a positive number of milliseconds");
  return { timeout: n };
}

/** Builds the client from --url / ECM_URL / saved URL and ECM_TOKEN / ECM_USERNAME+ECM_PASSWORD / saved token. */
function makeClient(ctx: Ctx): ECM {
  const env = ctx.io.env;
  const saved = readConfig(env);
  const url = str(ctx.values, "url") ?? env.ECM_URL ?? saved.url;
  if (!url) throw new CliError('not logged in: run "ecm login --url URL" (or set ECM_URL)', ExitCode.auth);
  const t = timeoutOf(ctx);
  if (env.ECM_TOKEN) return new ECM({ baseUrl: url, token: env.ECM_TOKEN, ...t });
  if (env.ECM_USERNAME && env.ECM_PASSWORD) {
    return new ECM({ baseUrl: url, username: env.ECM_USERNAME, password: env.ECM_PASSWORD, ...t });
  }
  // The saved token belongs to the saved URL only.
  if (saved.token && saved.url && normalizeBaseUrl(url) === normalizeBaseUrl(saved.url)) return new ECM({ baseUrl: url, token: saved.token, ...t });
  throw new CliError(
    `not logged in to ${url}: run "ecm login" (or set ECM_TOKEN, or ECM_USERNAME and ECM_PASSWORD)`,
    ExitCode.auth,
  );
}

// ---------------------------------------------------------------------------------------------

function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function groupsOfCommands(): string[] {
  return [...new Set(commands.filter((c) => c.path.length > 1).map((c) => c.path[0]!))];
}

function mainHelp(): string {
  const lines = [
    "ecm — administer ECM Security users, groups and roles",
    "",
    "Usage: ecm <command> [options]",
    "",
    "Commands:",
  ];
  const w = Math.max(...commands.map((c) => `${c.path.join(" ")} ${c.args}`.length));
  for (const c of commands) lines.push(`  ${`${c.path.join(" ")} ${c.args}`.padEnd(w)}  ${c.summary}`);
  lines.push(
    "",
    "Global options:",
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    "",
    "Environment:",
    "  ECM_URL, ECM_TOKEN, ECM_USERNAME + ECM_PASSWORD override the saved login;",
    "  XDG_CONFIG_HOME (default ~/.config): the login is saved in $XDG_CONFIG_HOME/ecm/config.json (mode 0600).",
    "",
    EXIT_CODES_HELP,
    "",
    'Run "ecm <command> --help" for the options of a command.',
  );
  return lines.join("\n") + "\n";
}

function groupHelp(group: string): string {
  const cs = commands.filter((c) => c.path[0] === group);
  const w = Math.max(...cs.map((c) => `${c.path.join(" ")} ${c.args}`.length));
  return (
    [
      `Usage: ecm ${group} <command> [options]`,
      "",
      "Commands:",
      ...cs.map((c) => `  ${`${c.path.join(" ")} ${c.args}`.padEnd(w)}  ${c.summary}`),
      "",
      "Global options:",
      ...GLOBAL_HELP.map((l) => `  ${l}`),
      "",
      `Run "ecm ${group} <command> --help" for the options of a command.`,
    ].join("\n") + "\n"
  );
}

function commandHelp(c: Command): string {
  const lines = [`Usage: ecm ${c.path.join(" ")}${c.args ? " " + c.args : ""} [options]`, "", c.summary[0]!.toUpperCase() + c.summary.slice(1) + "."];
  if (c.path[0] === "users" && c.args.includes("<user>")) lines.push("<user> is a username or a user guid.");
  if (c.args.includes("<group>")) lines.push("<group> is a group name or a group guid.");
  if (c.optionHelp?.length) lines.push("", "Options:", ...c.optionHelp.map((l) => `  ${l}`));
  lines.push("", "Global options:", ...GLOBAL_HELP.map((l) => `  ${l}`), "", EXIT_CODES_HELP);
  return lines.join("\n") + "\n";
}

/** Finds the command named by the first words that are not options. */
function findCommand(argv: string[]): { command?: Command; words: string[] } {
  const words: string[] = [];
  // Global options that take a value: the word after them is not a command word.
  const valued = new Set(
    Object.entries(GLOBAL_OPTIONS).flatMap(([name, o]) => (o.type === "string" ? [`--${name}`, ...(o.short ? [`-${o.short}`] : [])] : [])),
  );
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (valued.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  const two = commands.find((c) => c.path.length === 2 && c.path[0] === words[0] && c.path[1] === words[1]);
  if (two) return { command: two, words: words.slice(0, 2) };
  const one = commands.find((c) => c.path.length === 1 && c.path[0] === words[0]);
  if (one) return { command: one, words: words.slice(0, 1) };
  return { words };
}

/** Runs the command line; returns the exit code. Never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    if (argv[0] === "--version" || argv[0] === "-V") {
      io.stdout.write(`${cliVersion()}\n`);
      return ExitCode.ok;
    }
    const { command, words } = findCommand(argv);
    const wantsHelp = argv.includes("--help") || argv.includes("-h");
    if (!command) {
      if (words.length === 0 || words[0] === "help") {
        if (words.length === 0 && !wantsHelp && argv.length > 0) {
          // only options, no command: still parse them to report unknown ones
          parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true, strict: true });
        }
        const asked = wantsHelp || words[0] === "help";
        (asked ? io.stdout : io.stderr).write(mainHelp());
        return asked ? ExitCode.ok : ExitCode.usage;
      }
      if (groupsOfCommands().includes(words[0]!)) {
        if (words.length === 1) {
          if (wantsHelp) {
            io.stdout.write(groupHelp(words[0]!));
            return ExitCode.ok;
          }
          io.stderr.write(groupHelp(words[0]!));
          return ExitCode.usage;
        }
        throw new UsageError(`unknown command: ${words.join(" ")}`);
      }
      throw new UsageError(`unknown command: ${words[0]}`);
    }
    if (wantsHelp) {
      io.stdout.write(commandHelp(command));
      return ExitCode.ok;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, "").replace(/\s*\n\s*/g, " "));
    }
    const positionals = [...parsed.positionals];
    for (const w of words) {
      const i = positionals.indexOf(w);
      if (i >= 0) positionals.splice(i, 1);
    }
    const values = parsed.values as Values;
    const fmt = str(values, "output") ?? command.defaultFormat ?? "table";
    if (!OUTPUT_FORMATS.includes(fmt as OutputFormat)) throw new UsageError(`--output must be one of ${OUTPUT_FORMATS.join(", ")}`);
    const format = fmt as OutputFormat;
    let client: ECM | undefined;
    const ctx: Ctx = {
      io,
      format,
      values,
      args: positionals,
      ecm: () => (client ??= makeClient(ctx)),
      out: (columns, row) => printObject(io.stdout, format, columns, row),
      list: (columns, rows) => printList(io.stdout, format, columns, rows),
      note: (text) => io.stderr.write(text + "\n"),
    };
    const code = await command.run(ctx);
    return code ?? ExitCode.ok;
  } catch (err) {
    io.stderr.write(`ecm: ${messageOf(err)}\n`);
    return exitCodeOf(err);
  }
}

