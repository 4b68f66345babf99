/**
 * `npm run bench [-- --quick] [--store sqlite|postgres|both] [--database-url URL] [--database-name NAME] [--slapd-users N] [--port P] [--only oidc|login-attack|console|import|sdk|workers|ldap]`
 * Seeds (or reuses) a store per kind, starts the real server on it as a child process and measures
 * over keep-alive HTTP; runs the same mix against slapd and as raw SQL, provider logins against a
 * local OpenID Connect provider, and a legitimate login while 256 connections from other addresses
 * send wrong passwords. `--only oidc` or `--only login-attack`: that pass alone, on a fresh store (no
 * seeding; `--attackers N --attack-addresses M` size the attack). The web console in Chromium on the seeded
 * stores (tools/bench/console.ts) is part of the full run; `--only console` runs it alone. So are the
 * SDK's users() and `ecm users list` (tools/bench/sdk.ts); `--only sdk` runs them alone. `--only import`:
 * a CSV over HTTP and through `ecm import` on a fresh store; `--only workers`: search at 32 connections
 * and logins/s with one server process and with one per core, on the seeded store; `--only ldap`: a
 * directory of --users people in --groups groups synced into a fresh store and logins by directory
 * bind (tools/bench/directory.ts). Asserts nothing.
 */
// The options alone first: a value the bench cannot take is said before the modules of its passes load
// (seconds of CPU on a busy machine).
import "./options.js";

await import("./run.js");
