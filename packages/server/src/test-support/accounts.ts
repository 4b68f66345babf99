import type { NewUserRow, UserRow } from "../storage/schema.js";
import { insertUser } from "./fixtures.js";
import type { TestServer } from "./server.js";

export const USER_PASSWORD = "User-Secret-1";

/** The id of the group with this name, looked up through the API. */
export async function groupId(s: TestServer, token: string, name: string): Promise<string> {
  const r = await s.api<{ id: string; name: string }[]>("GET", `/security/v1/user-groups?search=${encodeURIComponent(name)}`, { token });
  const group = r.body.find((g) => g.name === name);
  if (!group) throw new Error(`no group ${name}`);
  return group.id;
}

/**
 * A local user with USER_PASSWORD, put into the built-in `users` group through the API (the user
 * itself is written to the store: user creation is another route's business).
 */
export async function createUser(s: TestServer, adminToken: string, username: string, fields: Partial<Pick<NewUserRow, "profile_id" | "enabled" | "valid_from" | "valid_to">> = {}): Promise<UserRow> {
  const { store, hasher } = s.server.deps;
  const user = await insertUser(store, { username, ...fields }, { hasher, value: USER_PASSWORD });
  const r = await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${await groupId(s, adminToken, "users")}`, { token: adminToken });
  if (r.status !== 204) throw new Error(`adding ${username} to users failed: ${r.status} ${r.text}`);
  return user;
}

/** Creates a group through the API and returns its id. */
export async function createGroup(s: TestServer, token: string, name: string, roles: string[] = []): Promise<string> {
  const r = await s.api<{ id: string }>("POST", "/security/v1/user-groups", { token, body: { name } });
  if (r.status !== 201) throw new Error(`creating group ${name} failed: ${r.status} ${r.text}`);
  for (const role of roles) {
    const g = await s.api("PUT", `/security/v1/user-groups/${r.body.id}/role-mappings/portal/${role}`, { token });
    if (g.status !== 204) throw new Error(`granting ${role} to ${name} failed: ${g.status} ${g.text}`);
  }
  return r.body.id;
}

/** A security administrator made through the API: a group with the role, a user in it. Returns the user and its token. */
export async function createSecurityAdministrator(s: TestServer, adminToken: string, username: string): Promise<{ user: UserRow; token: string }> {
  const group = await createGroup(s, adminToken, `${username}-group`, ["security-administrator"]);
  const user = await createUser(s, adminToken, username);
  const r = await s.api("PUT", `/security/v1/users/${user.uuid}/user-groups/${group}`, { token: adminToken });
  if (r.status !== 204) throw new Error(`adding ${username} to its group failed: ${r.status} ${r.text}`);
  return { user, token: await s.login(username, USER_PASSWORD) };
}
