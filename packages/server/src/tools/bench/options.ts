import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configFromEnv } from "../../config.js";
import { oneOf, toolArgs, usageError, wholeNumber } from "../tool-args.js";

// The bench's options (bench.ts), read alone: a value it cannot take stops it before its passes' modules load.
const USAGE = "Usage: npm run bench -- [--quick] [--store sqlite|postgres|both] [--users N] [--database-url URL] [--database-name NAME] [--slapd-users N] [--port P] [--only oidc|login-attack|console|import|sdk|workers|ldap]";
const OPTIONS_HELP = `  --quick                  100 000 users (default 1 000 000), shorter passes
  --store KIND             sqlite, postgres or both (default)
  --users N                seeded users (--only ldap: people in the directory)
  --queries N              searches in the mix (default 1000)
  --no-slapd               leave out the slapd peer
  --slapd-users N          users loaded into the slapd peer (default the first 100 000)
  --database-url URL       PostgreSQL to create the bench's databases on (default ECM_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
  --database-name NAME     the PostgreSQL store's database (default ecm_bench_<N>; an --only pass's fresh store ecm_bench_<pass>): dropped and made again
  --port P                 the servers listen on P to P+101 (default 18600)
  --only PASS              that pass alone; oidc, login-attack, import and ldap on a fresh store, removed after
  --import-rows N          --only import: rows of each CSV (default --users)
  --oidc-logins N, --oidc-concurrency C         provider logins, and how many in flight (default 3000, 16)
  --console-rounds N                            console measurements (default 5)
  --attackers N, --attack-addresses M           the login attack's connections and their addresses (default 256, 64)
  --groups G, --directory-logins L              --only ldap: groups (default N/200) and bind logins (default 5000)`;
const OPTIONS = {
  quick: { type: "boolean", default: false },
  store: { type: "string", default: "both" },
  users: { type: "string" },
  queries: { type: "string", default: "1000" },
  "database-url": { type: "string" },
  "database-name": { type: "string" },
  "slapd-users": { type: "string" },
  "no-slapd": { type: "boolean", default: false },
  only: { type: "string" },
  "import-rows": { type: "string" },
  "oidc-logins": { type: "string" },
  "oidc-concurrency": { type: "string", default: "16" },
  "console-rounds": { type: "string" },
  attackers: { type: "string", default: "256" },
  "attack-addresses": { type: "string", default: "64" },
  groups: { type: "string" },
  "directory-logins": { type: "string" },
  port: { type: "string", default: "18600" },
  help: { type: "boolean", short: "h" },
} as const;
export const values = toolArgs(OPTIONS, USAGE, `${OPTIONS_HELP}\nMeasures the server on seeded stores (SQLite, PostgreSQL) against its peers; method and figures: docs/benchmarks.md.`);
/** A whole-number option: absent, its default (`fallback`); a value it cannot take stops the bench before it builds or seeds anything. */
const whole = (option: keyof typeof OPTIONS, fallback?: number, min = 1) => wholeNumber(option, values[option] as string | undefined, USAGE, { min, fallback });

export const ROOT = resolve(fileURLToPath(import.meta.url), "../../../../../..");
export const SERVER_SRC = join(ROOT, "packages/server/src");
export const BENCH_DIR = join(ROOT, ".bench");
// The password of sysadmin in the bench stores (set on seeding; the server reads it the same way).
export const ADMIN_PASSWORD = process.env.ECM_ADMIN_PASSWORD || "Bench-Admin-Password-1";
// The servers listen from here up (+0–1 the full run, +50 `--only`, +89 slapd, +100 workers): another bench on this machine takes another range.
export const PORT = wholeNumber("port", values.port, USAGE, { max: 65_535 - 101 });
export const USERS = whole("users", values.quick ? 100_000 : 1_000_000);
export const QUERIES = whole("queries");
// slapadd of a million entries alone takes minutes; the full run loads slapd with the first 100 000.
export const SLAPD_USERS = Math.min(USERS, whole("slapd-users", 100_000));
export const PG_ADMIN_URL = values["database-url"] ?? process.env.ECM_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
if (!URL.canParse(PG_ADMIN_URL) || !["postgres:", "postgresql:"].includes(new URL(PG_ADMIN_URL).protocol)) {
  usageError(`--database-url (or ECM_TEST_DATABASE_URL) must be a PostgreSQL URL, postgres://user@host:5432/database, not ${JSON.stringify(PG_ADMIN_URL)}`, USAGE);
}
const store = oneOf("store", values.store, ["sqlite", "postgres", "both"], USAGE);
export const KINDS: ("sqlite" | "postgres")[] = store === "both" ? ["sqlite", "postgres"] : [store];
export const DATABASE_NAME = values["database-name"];
if (DATABASE_NAME !== undefined && (!/^[a-z_][a-z0-9_]{0,62}$/.test(DATABASE_NAME) || ["postgres", "template0", "template1"].includes(DATABASE_NAME))) {
  usageError(`--database-name ${JSON.stringify(DATABASE_NAME)}: a database the bench may drop and seed again, named with lower-case letters, digits and _`, USAGE);
}
export const CORES = availableParallelism();
// The cost the server hashes passwords with (it reads the same environment).
export const ARGON2 = configFromEnv(process.env).argon2;
export const COUNT_SEARCHES = ["müller", "son", "zzqxj", "a"];
const ALONE = ["oidc", "login-attack", "console", "import", "sdk", "workers", "ldap"];
export const ONLY = values.only === undefined ? undefined : oneOf("only", values.only, ALONE, USAGE);
export const CONSOLE_ROUNDS = whole("console-rounds", values.quick ? 3 : 5);
export const LOGIN_ATTACK = { attackers: whole("attackers"), attackAddresses: whole("attack-addresses"), users: 20, logins: values.quick ? 100 : 400 };
export const OIDC = { logins: whole("oidc-logins", values.quick ? 400 : 3000), concurrency: whole("oidc-concurrency"), accounts: values.quick ? 64 : 256 };
export const IMPORT_ROWS = whole("import-rows", USERS);
export const GROUPS = values.groups === undefined ? undefined : whole("groups");
export const DIRECTORY_LOGINS = whole("directory-logins", values.quick ? 1000 : 5000);
