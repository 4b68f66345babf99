import { calculateJwkThumbprint, createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type FlattenedJWSInput, type JWK, type JWSHeaderParameters, type JWTVerifyGetKey, type JWTVerifyOptions, type JWTVerifyResult } from "jose";
import { boundedFetch } from "./bounded-fetch.js";

/** Failures of the token, not of reading the keys: the set was read, and has no key for it. */
const TOKEN_FAILURES = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

/**
 * The signing keys of each provider, read from its JWKS URL and kept per process: they are public,
 * and a key the cache lacks (the provider rotated) makes it read the set again — once, then not
 * within the cooldown, so tokens with made-up key ids cannot make us hammer the provider. The cooldown
 * runs from the last read made for an unknown key that found no key never seen before, not from any read
 * (as jose's own does): a rotation just after the keys were first read, or read again when the cache grew
 * old, or a second rotation just after the first, is followed at once. A read that
 * failed (unreachable, an error status, not a key set) is not tried again within the cooldown either
 * (jose's own cooldown starts only at a success): meanwhile the keys read last still verify what they
 * signed, and without any the provider counts as unreachable (a 503, not a refused token).
 *
 * Tokens anyone may send (back-channel logout tokens) and ID tokens the provider handed us itself at
 * its token endpoint keep sets and cooldowns apart: else a made-up key id, posted just before the
 * provider rotates its keys, would hold the new key from every login for a cooldown. A logout token
 * whose key its own set lacks is also checked against the keys the ID tokens' set read since.
 */
export type KeysFor = "id-token" | "logout-token";

export class JwksCache {
  private readonly sets = new Map<string, JWTVerifyGetKey>();
  private readonly remotes = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  /** The last failed read of each set, while no read succeeded since: when, and what went wrong (for the log). */
  private readonly failedAt = new Map<string, { at: number; why: string }>();
  /** The keys each set has ever read (JSON), to tell a read that found a new one. */
  private readonly seenKeys = new Map<string, Set<string>>();
  /** When each set was last read for a key it lacked. */
  private readonly unknownKeyReadAt = new Map<string, number>();

  /** `timeoutSeconds`: how long a read of the keys may take (config.oidcTimeoutSeconds). */
  constructor(
    private readonly cooldownSeconds: number,
    private readonly timeoutSeconds: number,
  ) {}

  /**
   * Checks a token against the provider's keys (jwtVerify). A token without a key id that several of its
   * keys could have signed is checked against each, as jose's documentation shows: every one is a key
   * the provider publishes, so whichever verifies it will do (OpenID Connect asks providers for a key id
   * then; some leave it out). A key that does not verify it is a bad signature, as with one key — but
   * for such a token that may be a key published since the keys were read (no unknown key id says so):
   * they are read again, as for an unknown key id, once per cooldown.
   */
  async verify(token: string, jwksUrl: string, use: KeysFor, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
    const id = `${use} ${jwksUrl}`;
    try {
      return await verifyWith(token, this.keysOf(jwksUrl, use), options);
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed) || decodeProtectedHeader(token).kid !== undefined || this.failedAt.has(id)) throw error;
      // A logout token's keys are the ID tokens' too, perhaps read since (a login after a rotation), as
      // keysOf takes them for an unknown key id: tried before reading (a forged token may have spent the read).
      const idTokenKeys = use === "logout-token" ? this.remotes.get(`id-token ${jwksUrl}`)?.jwks() : undefined;
      if (idTokenKeys) {
        try {
          return await verifyWith(token, createLocalJWKSet(idTokenKeys), options);
        } catch (failure) {
          if (!(failure instanceof errors.JWSSignatureVerificationFailed || failure instanceof errors.JWKSNoMatchingKey)) throw failure;
        }
      }
      let read: boolean;
      try {
        read = await this.readAgain(id, this.remotes.get(id)!);
      } catch (failure) {
        this.failedAt.set(id, { at: Date.now(), why: (failure as Error).message });
        throw new errors.JWKSTimeout(`the provider's keys cannot be read now (${(failure as Error).message}), and those read before do not verify this token`);
      }
      if (!read) throw error;
      return await verifyWith(token, this.keysOf(jwksUrl, use), options);
    }
  }

  keysOf(jwksUrl: string, use: KeysFor): JWTVerifyGetKey {
    const id = `${use} ${jwksUrl}`;
    let set = this.sets.get(id);
    if (!set) {
      // jose's own cooldown never ends, so that it reads the set by itself only the first time and as it
      // grows old: every read for an unknown key is withRotation's, which starts this cooldown.
      const remote = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: Infinity, cacheMaxAge: 600_000, timeoutDuration: this.timeoutSeconds * 1000, [customFetch]: boundedFetch });
      this.remotes.set(id, remote);
      const read = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
        const failed = this.failedAt.get(id);
        if (failed === undefined || Date.now() - failed.at >= this.cooldownSeconds * 1000) {
          try {
            const key = await this.withRotation(id, remote, header, token);
            this.failedAt.delete(id);
            return key;
          } catch (error) {
            if (TOKEN_FAILURES.some((kind) => error instanceof kind)) throw error;
            this.failedAt.set(id, { at: Date.now(), why: (error as Error).message });
          }
        }
        const why = this.failedAt.get(id)?.why;
        const known = remote.jwks();
        if (!known) throw new errors.JWKSTimeout(`the provider's keys cannot be read now (${why})`);
        try {
          return await createLocalJWKSet(known)(header, token);
        } catch (error) {
          // The key may be a new one the provider published where it cannot be read now: that outage is what to report, not a foreign key.
          if (error instanceof errors.JWKSNoMatchingKey) throw new errors.JWKSTimeout(`the provider's keys cannot be read now (${why}), and those read before lack this token's key`);
          throw error;
        }
      };
      set =
        use === "id-token"
          ? read
          : async (header, token) => {
              try {
                return await read(header, token);
              } catch (error) {
                const known = this.remotes.get(`id-token ${jwksUrl}`)?.jwks();
                if (!(error instanceof errors.JWKSNoMatchingKey) || !known) throw error;
                return createLocalJWKSet(known)(header, token);
              }
            };
      this.sets.set(id, set);
    }
    return set;
  }

  /**
   * The key of a token from the set, read again for a key id it lacks once per cooldown since the last
   * such read that found no new key (readAgain), whichever token it was made for.
   */
  private async withRotation(id: string, remote: ReturnType<typeof createRemoteJWKSet>, header: JWSHeaderParameters, token: FlattenedJWSInput) {
    const readBefore = !remote.fresh;
    try {
      return await remote(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // jose read them for this token (the first read, or as they grew old) and they lack its key: that was this cooldown's read.
      if (readBefore) {
        this.unknownKeyReadAt.set(id, Date.now());
        throw error;
      }
      // Within the cooldown, the keys as read meanwhile (for another token).
      await this.readAgain(id, remote);
      return await remote(header, token);
    }
  }

  /**
   * Reads a set again for a token its keys lack, once per cooldown since the last such read that found
   * no key it had not seen; a read under way (for another token) is joined. False within the cooldown:
   * nothing read. A read that found a key never seen before (the provider rotated) starts no cooldown: a
   * second rotation soon after is followed as the first was. Made-up key ids find nothing new, so they still
   * cost at most one read per cooldown, and one more for each key the provider publishes (keys seen once do
   * not count again: a provider whose servers publish different sets does not lift the cooldown at each read).
   */
  private async readAgain(id: string, remote: ReturnType<typeof createRemoteJWKSet>): Promise<boolean> {
    if (!remote.reloading) {
      if (Date.now() - (this.unknownKeyReadAt.get(id) ?? 0) < this.cooldownSeconds * 1000) return false;
      this.unknownKeyReadAt.set(id, Date.now());
    }
    const seen = this.seenKeys.get(id) ?? new Set<string>();
    this.seenKeys.set(id, seen);
    // The read starts (or a read under way is joined) before anything is awaited: between the check of
    // `reloading` above and here, a read under way must not end unjoined.
    const keysBefore = remote.jwks()?.keys;
    const reading = remote.reload();
    reading.catch(() => undefined); // awaited below, after the thumbprints: a failure is thrown there, not left unhandled meanwhile
    for (const key of await thumbprints(keysBefore)) seen.add(key);
    await reading;
    const fresh = (await thumbprints(remote.jwks()?.keys)).filter((key) => !seen.has(key));
    // Past the bound, no key counts as new: a provider publishing a new set at every read cannot lift the cooldown for ever.
    if (fresh.length > 0 && seen.size < SEEN_KEYS_MAX) this.unknownKeyReadAt.delete(id);
    for (const key of fresh) if (seen.size < SEEN_KEYS_MAX) seen.add(key);
    return true;
  }
}

/** Distinct keys remembered per key set: many rotations' worth. */
const SEEN_KEYS_MAX = 256;

/**
 * The keys of a set by their RFC 7638 thumbprints: the same key published with its members in another
 * order, or with other optional members (x5c, alg), is not a new key. One jose cannot take is known by its text.
 */
function thumbprints(keys: JWK[] | undefined): Promise<string[]> {
  return Promise.all((keys ?? []).map((key) => calculateJwkThumbprint(key).catch(() => JSON.stringify(key))));
}

/** jwtVerify, a token that several of the keys could have signed (no key id) checked against each. */
async function verifyWith(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, keys, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return await jwtVerify(token, key, options);
      } catch (failure) {
        if (!(failure instanceof errors.JWSSignatureVerificationFailed)) throw failure;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}
