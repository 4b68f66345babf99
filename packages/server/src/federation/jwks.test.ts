import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, it } from "node:test";
import { errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from "jose";
import { JwksCache } from "./jwks.js";

let server: Server;
let reads = 0;
let up = false;
let jwk: JWK;
/** The keys the provider publishes. */
let published: JWK[];
let token: string;
let url: string;
/** Each read publishes the same keys in another text (as servers behind a balancer may: members in another order, a member more). */
let vary = false;

before(async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
  published = [jwk];
  token = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
  server = createServer((_request, response) => {
    reads++;
    response.writeHead(up ? 200 : 500, { "content-type": "application/json" }).end(up ? JSON.stringify({ keys: vary ? published.map((key) => ({ served: reads, ...key })) : published }) : "{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
after(() => server.close());

it("does not read a provider's keys again within the cooldown after a read failed (tokens are refused as unreachable meanwhile, the first too), then reads them", async () => {
  const cache = new JwksCache(1, 10);
  for (let i = 0; i < 21; i++) await assert.rejects(jwtVerify(token, cache.keysOf(url, "id-token")), errors.JWKSTimeout);
  assert.equal(reads, 1, "one read for 21 tokens");
  up = true;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  assert.equal(reads, 2);
});

it("keys read before still verify while a new read fails (a token with a made-up key id made it read again)", async () => {
  up = true;
  const cache = new JwksCache(1, 10);
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  const before = reads;
  up = false;
  const { privateKey } = await generateKeyPair("ES256");
  const madeUp = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "made-up" }).sign(privateKey);
  // The first read starts no cooldown: an unknown key id reads them again at once.
  await assert.rejects(jwtVerify(madeUp, cache.keysOf(url, "id-token")));
  assert.equal(reads, before + 1);
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  assert.equal(reads, before + 1, "not read again within the cooldown");
});

it("a made-up key id in a token anyone may send does not hold the provider's rotated key from ID tokens", async () => {
  up = true;
  published = [jwk];
  const cache = new JwksCache(1, 10);
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // A logout token with a made-up key id, posted just before the provider rotates its keys.
  const { privateKey: made } = await generateKeyPair("ES256");
  const madeUp = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "made-up" }).sign(made);
  await assert.rejects(jwtVerify(madeUp, cache.keysOf(url, "logout-token")), errors.JWKSNoMatchingKey);
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  published = [{ ...(await exportJWK(publicKey)), kid: "k2", alg: "ES256" }, jwk];
  const rotated = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k2" }).sign(privateKey);
  await jwtVerify(rotated, cache.keysOf(url, "id-token"));
  // Nor from a logout token signed with it: the keys the ID tokens' set read are tried too.
  const before = reads;
  await jwtVerify(rotated, cache.keysOf(url, "logout-token"));
  assert.equal(reads, before, "not read again");
  published = [jwk];
});

it("a token signed with a key the provider published while its key set cannot be read is refused as the outage, not as a foreign key", async () => {
  up = true;
  published = [jwk];
  const cache = new JwksCache(1, 10);
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  up = false;
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  published = [{ ...(await exportJWK(publicKey)), kid: "k3", alg: "ES256" }, jwk];
  const rotated = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k3" }).sign(privateKey);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await assert.rejects(jwtVerify(rotated, cache.keysOf(url, "id-token")), (e: unknown) => e instanceof errors.JWKSTimeout && /cannot be read now \(.+\), and those read before lack/.test((e as Error).message));
  // Within the cooldown too, without another read.
  const before = reads;
  await assert.rejects(jwtVerify(rotated, cache.keysOf(url, "id-token")), errors.JWKSTimeout);
  assert.equal(reads, before);
  up = true;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await jwtVerify(rotated, cache.keysOf(url, "id-token"));
  published = [jwk];
});

it("a read that found a rotated key starts no cooldown, also long after the keys were last read: a made-up key id right after it reads once, finding nothing new, and the next none", async () => {
  up = true;
  published = [jwk];
  const cache = new JwksCache(1, 10);
  await jwtVerify(token, cache.keysOf(url, "id-token"));
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  published = [{ ...(await exportJWK(publicKey)), kid: "k6", alg: "ES256" }, jwk];
  const rotated = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k6" }).sign(privateKey);
  const madeUp = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "made-up" }).sign(privateKey);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await jwtVerify(rotated, cache.keysOf(url, "id-token"));
  const before = reads;
  await assert.rejects(jwtVerify(madeUp, cache.keysOf(url, "id-token")), errors.JWKSNoMatchingKey);
  assert.equal(reads, before + 1, "read again: the last read found a new key");
  await assert.rejects(jwtVerify(madeUp, cache.keysOf(url, "id-token")), errors.JWKSNoMatchingKey);
  assert.equal(reads, before + 1, "not read again within the cooldown of a read that found nothing new");
  published = [jwk];
});

it("reads the keys again for an unknown key id right after they were read, once per cooldown however many such tokens come", async () => {
  up = true;
  published = [jwk];
  const cache = new JwksCache(1, 10);
  await jwtVerify(token, cache.keysOf(url, "logout-token"));
  const before = reads;
  const { privateKey } = await generateKeyPair("ES256");
  const madeUp = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "made-up" }).sign(privateKey);
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => jwtVerify(madeUp, cache.keysOf(url, "logout-token"))));
  assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof errors.JWKSNoMatchingKey));
  for (let i = 0; i < 5; i++) await assert.rejects(jwtVerify(madeUp, cache.keysOf(url, "logout-token")), errors.JWKSNoMatchingKey);
  assert.equal(reads, before + 1, "one read within the cooldown");
});

it("checks a token without a key id against each key that could have signed it: one that verifies it will do, none is a bad signature", async () => {
  up = true;
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  published = [{ ...(await exportJWK(publicKey)), kid: "k4", alg: "ES256" }, jwk];
  const cache = new JwksCache(1, 10);
  const withoutKid = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  for (const use of ["id-token", "logout-token"] as const) {
    await cache.verify(withoutKid, url, use, {});
    const { privateKey: foreign } = await generateKeyPair("ES256");
    await assert.rejects(cache.verify(await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(foreign), url, use, {}), errors.JWSSignatureVerificationFailed);
  }
  published = [jwk];
});

it("checks a logout token without a key id against the keys a login read since, when a forged one has just spent the logout keys' read", async () => {
  up = true;
  published = [jwk];
  const cache = new JwksCache(30, 10);
  await cache.verify(token, url, "id-token", {});
  await cache.verify(token, url, "logout-token", {});
  // A forged logout token without a key id spends the logout keys' read of this cooldown.
  const { privateKey: foreign } = await generateKeyPair("ES256");
  await assert.rejects(cache.verify(await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(foreign), url, "logout-token", {}), errors.JWSSignatureVerificationFailed);
  // The provider rotates its key; a login reads the new one (its key id is new to the ID tokens' keys).
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  published = [{ ...(await exportJWK(publicKey)), kid: "k5", alg: "ES256" }];
  await cache.verify(await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k5" }).sign(privateKey), url, "id-token", {});
  const readsBefore = reads;
  await cache.verify(await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(privateKey), url, "logout-token", {});
  assert.equal(reads, readsBefore, "verified by the keys the login read, without reading them again");
  published = [jwk];
});

it("follows a second rotation within the cooldown of the first read for a rotated key, for ID and logout tokens alike: only a read that found no new key holds off the next", async () => {
  up = true;
  for (const use of ["id-token", "logout-token"] as const) {
    published = [jwk];
    const cache = new JwksCache(30, 10);
    await cache.verify(token, url, use, {});
    const signed = [];
    for (const kid of ["r1", "r2"]) {
      const { privateKey, publicKey } = await generateKeyPair("ES256");
      published = [{ ...(await exportJWK(publicKey)), kid, alg: "ES256" }, ...published];
      const before = reads;
      const rotated = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey);
      await cache.verify(rotated, url, use, {});
      assert.equal(reads, before + 1, `${use}: read for ${kid}`);
      signed.push(privateKey);
    }
    // A made-up key id reads once (nothing new found), then no more within the cooldown.
    const before = reads;
    for (const kid of ["made-up-1", "made-up-2"]) await assert.rejects(cache.verify(await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).sign(signed[0]!), url, use, {}), errors.JWKSNoMatchingKey);
    assert.equal(reads, before + 1, `${use}: one read for made-up key ids`);
  }
  published = [jwk];
});

it("a provider publishing the same keys in another text at each read (members, order) does not lift the cooldown: made-up key ids still cost one read per cooldown", async () => {
  up = true;
  published = [jwk];
  vary = true;
  try {
    const cache = new JwksCache(60, 10);
    await jwtVerify(token, cache.keysOf(url, "logout-token"));
    const before = reads;
    const { privateKey } = await generateKeyPair("ES256");
    for (const kid of ["made-up-1", "made-up-2", "made-up-3", "made-up-4"]) {
      await assert.rejects(jwtVerify(await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey), cache.keysOf(url, "logout-token")), errors.JWKSNoMatchingKey);
    }
    assert.equal(reads, before + 1, "one read for four made-up key ids");
  } finally {
    vary = false;
  }
});
