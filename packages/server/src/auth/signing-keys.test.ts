import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jwtVerify, SignJWT } from "jose";
import { openStore, type StoreLocation } from "../storage/store.js";
import { holdingQueries } from "../test-support/held-query.js";
import { createTemporaryDatabase, storeKinds, storeSkip, TEST_SECRET_KEY } from "../test-support/server.js";
import { SecretBox } from "./secret-box.js";
import { SigningKeys } from "./signing-keys.js";

const SESSION_MAX_SECONDS = 3600;
const actor = { id: null, name: "test", sourceIp: null };

for (const kind of storeKinds) {
  describe(`a token naming a key this node does not know [${kind}]`, { skip: storeSkip(kind) }, () => {
    it("a key made on another node while this node's re-read was under way: the token waits for a re-read begun after it looked, and verifies", async () => {
      const dir = mkdtempSync(join(tmpdir(), "ecm-keys-"));
      const temporary = kind === "postgres" ? await createTemporaryDatabase(process.env.ECM_TEST_DATABASE_URL!) : undefined;
      const location: StoreLocation = temporary ? { kind: "postgres", url: temporary.url } : { kind: "sqlite", file: join(dir, "store.sqlite3") };
      // Two nodes, each with its own connections to the one store.
      const storeA = await openStore(location);
      const storeB = await openStore(location);
      try {
        const secrets = new SecretBox(Buffer.from(TEST_SECRET_KEY, "base64"));
        let now = Date.now();
        const a = new SigningKeys(storeA.db, secrets, undefined, SESSION_MAX_SECONDS, () => now);
        await a.init();
        const heldB = holdingQueries(storeB, /^select "kid", "public_jwk" from "signing_keys"$/);
        const b = new SigningKeys(heldB.store.db, secrets, undefined, SESSION_MAX_SECONDS, () => now);
        await b.init();
        now += 1_000;

        // A made-up kid starts a re-read on B; it has read the keys when A makes a new one.
        const held = heldB.holdNext();
        const madeUp = Promise.resolve(b.verificationKey({ alg: "ES256", kid: "made-up" }, undefined as never));
        await held.reached;
        await a.rotate(actor);
        const signer = await a.current();
        const token = await new SignJWT({ sid: "s" }).setProtectedHeader({ alg: signer.alg, kid: signer.kid }).setIssuer("ecm-security").sign(signer.key);
        // The token finds the key unknown and joins the re-read under way, begun before it looked.
        const verified = jwtVerify(token, b.verificationKey, { issuer: "ecm-security" });
        await new Promise((resolve) => setTimeout(resolve, 50));
        held.release();
        await assert.rejects(madeUp, { code: "ERR_JWKS_NO_MATCHING_KEY" });
        assert.equal((await verified).protectedHeader.kid, signer.kid);

        // Made-up kids stay bounded: each waits for at most two shared re-reads, at most one a second.
        const started = performance.now();
        const guesses = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => b.verificationKey({ alg: "ES256", kid: `guess-${i}` }, undefined as never)));
        assert.ok(guesses.every((g) => g.status === "rejected"));
        assert.ok(performance.now() - started < 3_000, `${performance.now() - started} ms`);
      } finally {
        await storeB.close();
        await storeA.close();
        await temporary?.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
