import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { createSecurityAdministrator } from "../../test-support/accounts.js";
import { SecretBox } from "../../auth/secret-box.js";
import { SigningKeys } from "../../auth/signing-keys.js";
import { openStore } from "../../storage/store.js";
import { createTemporaryDatabase, describeEachStore, startTestServer, storeKinds, storeSkip, TEST_SECRET_KEY, type TestServer } from "../../test-support/server.js";

const SESSION_MAX_SECONDS = 3600;

/** What another service does with a token: verify it offline against the published keys. */
async function verifyOffline(s: TestServer, token: string) {
  const jwks = (await s.api("GET", "/auth/v1/certs")).body;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: "ecm-security" });
}

describeEachStore("token signing keys", (server) => {
  let admin: string;
  let secToken: string;
  before(async () => {
    admin = await server().login();
    secToken = (await createSecurityAdministrator(server(), admin, "keys.secadmin")).token;
  });

  it("tokens are ES256 with a kid, and other services verify them offline from GET /auth/v1/certs", async () => {
    const s = server();
    const header = decodeProtectedHeader(admin);
    assert.equal(header.alg, "ES256");
    const certs = await s.api("GET", "/auth/v1/certs");
    assert.equal(certs.status, 200);
    assert.deepEqual(certs.body.keys.map((k: { kid: string }) => k.kid), [header.kid]);
    const [key] = certs.body.keys;
    assert.equal(key.kid, await calculateJwkThumbprint(key), "the kid is the key's RFC 7638 thumbprint");
    assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"], "no private part");
    const { payload } = await verifyOffline(s, admin);
    assert.equal(typeof payload.sid, "string");
  });

  it("keeps the private key sealed in the store", async () => {
    const rows = await server().server.deps.store.db.selectFrom("signing_keys").select("private_key").execute();
    for (const { private_key } of rows) {
      assert.match(private_key ?? "", /^v1:/);
      assert.doesNotMatch(private_key ?? "", /PRIVATE KEY/);
    }
  });

  it("refuses tokens of the old shared-secret kind (HS256), also with a known kid", async () => {
    const s = server();
    const { kid } = decodeProtectedHeader(admin);
    const { payload } = await verifyOffline(s, admin);
    const hs256 = await new SignJWT(payload).setProtectedHeader({ alg: "HS256", kid }).sign(new Uint8Array(32));
    assert.equal((await s.api("GET", "/security/v1/me", { token: hs256 })).status, 401);
  });

  it("rotation: only a system administrator; the new key signs, the old one verifies until its tokens have expired, then it is gone", async () => {
    const s = server();
    const before = await s.login();
    const oldKid = decodeProtectedHeader(before).kid;
    assert.equal((await s.api("POST", "/security/v1/signing-keys/rotate", { token: secToken })).status, 403);
    const rotated = await s.api("POST", "/security/v1/signing-keys/rotate", { token: admin });
    assert.equal(rotated.status, 200, rotated.text);
    const [current, retired] = rotated.body;
    assert.equal(retired.kid, oldKid);
    assert.notEqual(retired.retiredAt, null);
    assert.equal(current.retiredAt, null);
    assert.equal(current.source, "store");

    const afterToken = await s.login();
    assert.equal(decodeProtectedHeader(afterToken).kid, current.kid);
    assert.deepEqual((await s.api("GET", "/auth/v1/certs")).body.keys.map((k: { kid: string }) => k.kid).sort(), [current.kid, oldKid].sort());
    for (const token of [before, afterToken]) assert.equal((await s.api("GET", "/security/v1/me", { token })).status, 200);
    const audit = await s.api("GET", "/security/v1/audit-events?action=signing-key.rotate", { token: admin });
    assert.equal(audit.body[0]?.targetId, current.kid, audit.text);

    // Past the longest session (and the nodes' re-read margin), no token of the old key can be valid: it goes.
    s.clock.advance(SESSION_MAX_SECONDS + 121);
    await s.server.deps.signingKeys.purge();
    assert.deepEqual((await s.api("GET", "/auth/v1/certs")).body.keys.map((k: { kid: string }) => k.kid), [current.kid]);
  });

  it("a rotation on one node is followed by every node: tokens of the new key verify at once, and the other node signs with it within a minute", async () => {
    const s = server();
    const other = await startTestServer(s.kind, { store: s.server.deps.config.store, sessionMaxSeconds: SESSION_MAX_SECONDS });
    try {
      const fresh = await s.login();
      const rotated = await s.api("POST", "/security/v1/signing-keys/rotate", { token: fresh });
      const newKid = rotated.body[0].kid;
      const signedHere = await s.login();
      assert.equal(decodeProtectedHeader(signedHere).kid, newKid);
      assert.equal((await other.api("GET", "/security/v1/me", { token: signedHere })).status, 200, "the other node knows the new key at once");
      other.clock.advance(61);
      s.clock.advance(61);
      assert.equal(decodeProtectedHeader(await other.login()).kid, newKid);
    } finally {
      await other.close();
    }
  });

  it("two rotations in a row on one node: the other node verifies the tokens of each new key at once", async () => {
    const s = server();
    const other = await startTestServer(s.kind, { store: s.server.deps.config.store, sessionMaxSeconds: SESSION_MAX_SECONDS });
    try {
      for (let i = 0; i < 3; i++) {
        const fresh = await s.login();
        assert.equal((await s.api("POST", "/security/v1/signing-keys/rotate", { token: fresh })).status, 200);
        const signed = await s.login();
        assert.equal((await other.api("GET", "/security/v1/me", { token: signed })).status, 200, `rotation ${i + 1}`);
      }
    } finally {
      await other.close();
    }
  });
}, { sessionMaxSeconds: SESSION_MAX_SECONDS });

describe("ECM_TOKEN_KEY_FILE", () => {
  const dir = mkdtempSync(join(tmpdir(), "ecm-keyfile-"));
  const keyFile = join(dir, "token-key.pem");
  let s: TestServer;
  before(async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    s = await startTestServer("sqlite", { tokenKeyFile: keyFile });
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("signs with the file's key (Ed25519: EdDSA), publishes it, keeps no private part in the store, and refuses an API rotation", async () => {
    const token = await s.login();
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, "EdDSA");
    await verifyOffline(s, token);
    const rows = await s.server.deps.store.db.selectFrom("signing_keys").select(["kid", "private_key", "retired_at"]).execute();
    const own = rows.find((r) => r.kid === header.kid);
    assert.equal(own?.private_key, null);
    assert.equal(own?.retired_at, null);
    assert.ok(rows.filter((r) => r.kid !== header.kid).every((r) => r.retired_at !== null), "the key the store made first is retired");
    const r = await s.api("POST", "/security/v1/signing-keys/rotate", { token });
    assert.equal(r.status, 409);
    assert.match(r.body.errorMessage, /ECM_TOKEN_KEY_FILE/);
  });
});

for (const kind of storeKinds) {
  describe(`the first signing key of an empty store [${kind}]`, { skip: storeSkip(kind) }, () => {
    it("nodes starting at once each make one; all but the newest retire at once, and every node signs with that one within a minute", async () => {
      const dir = mkdtempSync(join(tmpdir(), "ecm-first-key-"));
      const temporary = kind === "postgres" ? await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!) : undefined;
      const store = await openStore(temporary ? { kind: "postgres", url: temporary.url } : { kind: "sqlite", file: join(dir, "store.sqlite3") });
      try {
        const secrets = new SecretBox(Buffer.from(TEST_SECRET_KEY, "base64"));
        let now = Date.now();
        const nodes = [0, 1, 2].map(() => new SigningKeys(store.db, secrets, undefined, SESSION_MAX_SECONDS, () => now));
        await Promise.all(nodes.map((n) => n.init()));
        const keys = await store.db.selectFrom("signing_keys").select(["kid", "retired_at"]).execute();
        const current = keys.filter((k) => k.retired_at === null);
        assert.equal(current.length, 1, JSON.stringify(keys));
        // A node that read its signer before another's key came re-reads it within a minute, as after a rotation.
        now += 61_000;
        for (const n of nodes) assert.equal((await n.current()).kid, current[0]!.kid);
      } finally {
        await store.close();
        await temporary?.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
