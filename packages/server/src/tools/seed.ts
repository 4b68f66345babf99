import { toolArgs, wholeNumber } from "./tool-args.js";
import { PasswordHasher } from "../auth/passwords.js";
import { configFromEnv, type Config } from "../config.js";
import { ADMIN_PASSWORD_IGNORED, bootstrap } from "../domain/bootstrap.js";
import { PasswordPolicy } from "../domain/password-policy.js";
import { startupFailure } from "../startup-failure.js";
import { openStore } from "../storage/store.js";
import { SEEDED_PASSWORD, SeedRefused, seedStore } from "./seed-data.js";

/**
 * `npm run seed -- --users N [--database-url URL] [--data-dir DIR] [--seed S]`: fills an empty store
 * with generated users (see seed-data.ts). Without --database-url it uses DATABASE_URL, else the
 * SQLite file under --data-dir / ECM_DATA_DIR / ./data, exactly as the server would.
 */
const USAGE = "Usage: npm run seed -- --users N [--database-url URL] [--data-dir DIR] [--seed S]";

const values = toolArgs(
  {
    users: { type: "string" },
    "database-url": { type: "string" },
    "data-dir": { type: "string" },
    seed: { type: "string", default: "1" },
    help: { type: "boolean", short: "h" },
  },
  USAGE,
  "Fills an empty store with generated users: DATABASE_URL or --database-url, else the SQLite file under --data-dir, ECM_DATA_DIR or ./data.",
);

const users = wholeNumber("users", values.users, USAGE);
const seed = wholeNumber("seed", values.seed, USAGE, { min: 0 });

let config: Config | undefined;
try {
  // The options stand in for the variables the server reads, so the store is found exactly as it finds it.
  config = configFromEnv({
    ...process.env,
    ...(values["data-dir"] !== undefined && { ECM_DATA_DIR: values["data-dir"] }),
    ...(values["database-url"] !== undefined && { DATABASE_URL: values["database-url"] }),
  });
  await seedInto(config);
} catch (error) {
  // A store that is not empty, or one the server could not start on either: one line, no stack.
  process.stderr.write(`seed: ${error instanceof SeedRefused ? error.message : startupFailure(error, config)}\n`);
  process.exitCode = 1;
}

async function seedInto(config: Config): Promise<void> {
  const location = config.store;
  const store = await openStore(location);
  try {
    const hasher = new PasswordHasher(config.argon2);
    const { generatedAdminPassword, adminPasswordIgnored } = await bootstrap(store.db, hasher, new PasswordPolicy(config.passwordPolicy), config.adminPassword);
    if (generatedAdminPassword) process.stdout.write(`Created built-in user "sysadmin" with password: ${generatedAdminPassword}\n`);
    if (adminPasswordIgnored) process.stderr.write(`warning: ${ADMIN_PASSWORD_IGNORED}\n`);
    const started = Date.now();
    const result = await seedStore(store, {
      users,
      seed,
      passwordHash: await hasher.hash(SEEDED_PASSWORD),
      onProgress(done, total) {
        const seconds = (Date.now() - started) / 1000;
        process.stderr.write(`\rseeded ${done.toLocaleString("en")} / ${total.toLocaleString("en")} users (${Math.round(done / seconds).toLocaleString("en")}/s)`);
      },
    });
    process.stderr.write("\n");
    await store.dialect.analyze(store.db);
    process.stdout.write(
      `Seeded ${result.users} ${result.users === 1 ? "user" : "users"}, ${result.groups} groups, ${result.memberships} memberships in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${location.kind}). Every seeded user's password is "${SEEDED_PASSWORD}".\n`,
    );
  } finally {
    await store.close();
  }
}
