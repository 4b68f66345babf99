/**
 * A Keycloak realm export (`kc.sh export`: the realm's JSON document, or its `<realm>-users-<n>.json`
 * files) read for an import: the elements of its `users` array, as the bytes arrive, each made an
 * import record — its password credential made the PHC string the server checks at login.
 */
import { ECMValidationError } from "./errors.js";
import { JsonSplitter } from "./json-split.js";
import { FieldTypeError } from "./mapping.js";
import type { ImportUserRecord } from "./types.js";

/**
 * Whether these first bytes open a JSON document written over several lines (Keycloak pretty-prints
 * its exports: `{` alone on the first line), which no NDJSON is: each of its rows is one line.
 */
export function opensJsonDocument(text: string): boolean {
  return /^\uFEFF?\s*\{[ \t]*\r?\n/.test(text);
}

/**
 * The elements of the document's `users` array, one at a time. Keycloak names the realm before its
 * users (in the realm's file and in each users file): another document (an `ecm export` made readable
 * with jq, say) is refused rather than read as Keycloak's.
 */
export async function* keycloakUsers(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const notKeycloak = (what: string) => new ECMValidationError(`importUsers: the JSON document ${what}: a file of JSON objects is read one a line (NDJSON), a document over several lines only as a Keycloak realm export (kc.sh export)`);
  // The file's fault, said as such (the splitter's own errors speak of a server's answer).
  const splitter = new JsonSplitter("object", "objects", (what, cause) => new ECMValidationError(`importUsers: the JSON document is not whole JSON: ${what}`, { cause }));
  let realm: string | undefined;
  let users = false;
  for await (const chunk of bytes) {
    for (const { key, values, elements } of splitter.push(chunk)) {
      if (key === "realm") {
        if (typeof values[0] !== "string") throw new ECMValidationError(`importUsers: the JSON document's realm is not a name (a string): ${JSON.stringify(values[0])}`);
        realm = values[0];
      }
      if (key !== "users") continue;
      if (realm === undefined) throw notKeycloak("names no realm before its users");
      // Else its one value would be read as one user.
      if (!elements) throw new ECMValidationError(`importUsers: the Keycloak export's users are not an array (${values[0] === null ? "null" : typeof values[0] === "object" ? "an object" : `a ${typeof values[0]}`}): a realm export lists its users in [ ]`);
      users = true;
      yield* values;
    }
  }
  splitter.end();
  // kc.sh export --dir writes the users to files of their own unless told otherwise.
  if (!users && realm !== undefined) throw new ECMValidationError(`importUsers: the Keycloak export of the realm ${realm} holds no users: import its ${realm}-users-<n>.json files (kc.sh export --dir), or export with --users realm_file`);
  if (!users) throw notKeycloak("has no users");
}

/** A credential's JSON-in-a-string (`secretData`, `credentialData`) as an object. */
function embedded(value: unknown, name: string): Record<string, unknown> {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === null || typeof parsed !== "object") throw new FieldTypeError(`the password credential's ${name} is not JSON`, "credentials");
  return parsed as Record<string, unknown>;
}

/** base64 without its padding, as PHC strings write it (argon2's). */
const unpadded = (base64: string) => base64.replace(/=+$/, "");

/** Keycloak's additionalParameters value (a list of strings, MultivaluedHashMap). */
const first = (parameters: Record<string, unknown>, key: string) => (Array.isArray(parameters[key]) && (parameters[key] as unknown[]).length > 0 ? String((parameters[key] as unknown[])[0]) : undefined);

/** An argon2 cost from additionalParameters, a whole number (else the hash would read `m=undefined`, which the server only calls no PHC string). */
function argon2Cost(parameters: Record<string, unknown>, key: "memory" | "parallelism"): string {
  const value = first(parameters, key);
  const unit = key === "memory" ? " of KiB" : "";
  if (value === undefined) throw new FieldTypeError(`the argon2 password credential has no ${key} (additionalParameters.${key}, a whole number${unit})`, "credentials");
  if (!/^[1-9]\d*$/.test(value)) throw new FieldTypeError(`the argon2 password credential's ${key} is ${JSON.stringify(value)}, not a positive whole number${unit}`, "credentials");
  return value;
}

/**
 * A Keycloak password credential as a PHC string: PBKDF2 as the server reads Keycloak's
 * (`$pbkdf2-sha256$i=<hashIterations>$<salt>$<value>`, base64 as it is), argon2 as its reference writes it.
 */
function passwordHash(credential: Record<string, unknown>): string {
  const secret = embedded(credential.secretData, "secretData");
  const data = embedded(credential.credentialData, "credentialData");
  const { value, salt } = secret;
  const { algorithm, hashIterations } = data;
  if (typeof value !== "string" || typeof salt !== "string" || typeof hashIterations !== "number") throw new FieldTypeError("the password credential has no value, salt or hashIterations", "credentials");
  if (!Number.isSafeInteger(hashIterations) || hashIterations < 1) throw new FieldTypeError(`the password credential's hashIterations is ${hashIterations}, not a positive whole number`, "credentials");
  if (algorithm === "pbkdf2-sha256" || algorithm === "pbkdf2-sha512") return `$${algorithm}$i=${hashIterations}$${salt}$${value}`;
  const parameters = (data.additionalParameters ?? {}) as Record<string, unknown>;
  const type = first(parameters, "type") ?? "id";
  const version = first(parameters, "version") ?? "1.3";
  if (algorithm === "argon2" && (type === "id" || type === "i") && (version === "1.3" || version === "1.0")) {
    return `$argon2${type}$v=${version === "1.3" ? 19 : 16}$m=${argon2Cost(parameters, "memory")},t=${hashIterations},p=${argon2Cost(parameters, "parallelism")}$${unpadded(salt)}$${unpadded(value)}`;
  }
  const kind = algorithm === "argon2" ? `argon2${type} ${version}` : String(algorithm);
  throw new FieldTypeError(`Keycloak's ${kind} password hashes are not imported (pbkdf2-sha256, pbkdf2-sha512, argon2id and argon2i are): leave the credential out and set the user's password here`, "credentials");
}

/**
 * A Keycloak group path as a group's name here: a top-level group's own (`/staff` → staff; `~/` is a
 * `/` inside a name). A subgroup is refused, named by its path: groups here are not nested, and its
 * last name alone could be another group's (`/a/ops` and `/b/ops` one group, another system's
 * `/partners/administrators` our administrators). So is a group that would be the built-in
 * administrators, which grants every role: only an administrator here puts someone in it.
 */
function groupName(path: string): string {
  const names = path.split(/(?<!~)\//).filter(Boolean).map((name) => name.replace(/~\//g, "/"));
  if (names.length > 1) throw new FieldTypeError(`the Keycloak group ${path} is a subgroup: groups here are not nested, and its last name alone could be another group's; make it a top-level group in Keycloak, or take it out of the user's groups, and add the user to a group here after the import`, "groups");
  const name = names[0] ?? path;
  if (name.normalize("NFKC").toLowerCase() === "administrators") throw new FieldTypeError(`the Keycloak group ${path} would be the built-in group administrators here, which grants every role: take it out of the user's groups, and add the user to administrators here after the import if that is meant`, "groups");
  return name;
}

/**
 * A Keycloak user (UserRepresentation) as an import record: names, email, enabled, groups (top-level
 * ones, by name: groupName), its password hash, a pending password update, a service account. What has no place
 * here (roles, attributes, links to identity providers, one-time-password devices) is left out.
 */
export function keycloakRecord(user: unknown): ImportUserRecord {
  if (user === null || typeof user !== "object" || typeof (user as { username?: unknown }).username !== "string") throw new FieldTypeError("a Keycloak user needs a username", "username");
  const u = user as Record<string, unknown>;
  // Its password lives in the directory Keycloak federated it from: synced from there, it keeps it.
  if (typeof u.federationLink === "string") throw new FieldTypeError("a user of Keycloak's user federation (LDAP, Kerberos) is not imported: sync it from its directory here", "federationLink");
  const record: ImportUserRecord = { username: u.username as string };
  for (const name of ["firstName", "lastName", "email"] as const) if (typeof u[name] === "string") record[name] = u[name] as string;
  if (typeof u.enabled === "boolean") record.locked = !u.enabled;
  if (Array.isArray(u.groups)) record.groups = u.groups.filter((g): g is string => typeof g === "string").map(groupName);
  if (typeof u.serviceAccountClientId === "string") record.serviceAccount = true;
  const credential = Array.isArray(u.credentials) ? (u.credentials as Record<string, unknown>[]).find((c) => c?.type === "password") : undefined;
  if (credential) {
    record.passwordHash = passwordHash(credential);
    // Asked of a password it has: one it must set first would hold it at a password page for good.
    if (Array.isArray(u.requiredActions) && u.requiredActions.includes("UPDATE_PASSWORD")) record.changePwd = true;
  }
  return record;
}
