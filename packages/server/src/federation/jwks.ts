import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

/**
 * The signing keys of each provider, read from its JWKS URL and kept per process: they are public,
 * and a key the cache lacks (the provider rotated) makes it read the set again — once, then not
 * within the cooldown, so tokens with made-up key ids cannot make us hammer the provider.
 */
export class JwksCache {
  private readonly sets = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly cooldownSeconds: number) {}

  keysOf(jwksUrl: string): JWTVerifyGetKey {
    let set = this.sets.get(jwksUrl);
    if (!set) {
      set = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: this.cooldownSeconds * 1000, cacheMaxAge: 600_000, timeoutDuration: 10_000 });
      this.sets.set(jwksUrl, set);
    }
    return set;
  }
}
