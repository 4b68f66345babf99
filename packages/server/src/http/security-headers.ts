import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/**
 * The Content-Security-Policy of every answer, which the console lives with too: its own scripts and
 * styles only (no inline ones), no framing, no plugins, forms and the base URL on this origin.
 */
const CSP = {
  "default-src": ["'self'"],
  "base-uri": ["'self'"],
  "connect-src": ["'self'"],
  "font-src": ["'self'"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
  "img-src": ["'self'"],
  "object-src": ["'none'"],
  "script-src": ["'self'"],
  "script-src-attr": ["'none'"],
  "style-src": ["'self'"],
};

/** Swagger UI (`/portal/docs/`) alone also needs inline styles and data: images (its icons); nothing else gets them. */
export const DOCS_CSP: Record<string, string[]> = { ...CSP, "img-src": ["'self'", "data:"], "style-src": ["'self'", "'unsafe-inline'"] };

/** One year, as browsers' preload lists ask for. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;
/** The Strict-Transport-Security header's value (helmet's, written out for the answers it does not see). */
export const HSTS = `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`;

/**
 * Security headers on every answer (helmet's, with the policy above; HSTS only when the server
 * itself speaks TLS), and `Cache-Control: no-store` on every answer that sets no caching of its own:
 * tokens, users, groups and errors are never kept by a browser or a proxy.
 */
export async function registerSecurityHeaders(app: FastifyInstance, tls: boolean): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    strictTransportSecurity: tls ? { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true } : false,
    referrerPolicy: { policy: "no-referrer" },
    frameguard: { action: "deny" },
  });
  app.addHook("onSend", async (_request, reply) => {
    if (!reply.hasHeader("cache-control")) void reply.header("cache-control", "no-store");
  });
}
