import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import type { AppDeps } from "../deps.js";
import { errorBody, ErrorCodes } from "../errors.js";

/** The console's built files (packages/console/dist, made by the root `prepare` script): the same place from src/ and dist/. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../../../console/dist/", import.meta.url));

/** A console page named by a path: words, no dot (files have one), and a plain query. */
const PAGE_PATH = /^\/console\/([\w~-]+(?:\/[\w~%-]+)*)\/?(\?[\w~%&=+.,-]*)?$/;

/** What a file's answer says of the file, set before it is read. */
const FILE_HEADERS = ["content-type", "content-length", "content-encoding", "content-range", "accept-ranges", "cache-control", "etag", "last-modified"];

/**
 * The web console at /portal/console/: static files, sent pre-compressed (brotli or gzip) as the
 * browser accepts, under the Content-Security-Policy of every answer (http/security-headers.ts).
 */
const consoleRoutes: FastifyPluginAsync<AppDeps> = async (app) => {
  app.get("/console", { schema: { hide: true } }, (_request, reply) => reply.redirect("console/"));
  // The service's root (/portal, /portal/) names no resource: whoever opens it, a browser most likely, is sent to the console.
  app.get("/", { schema: { hide: true } }, (_request, reply) => reply.redirect(`${app.prefix}/console/`));
  // The console routes by the URL's hash, but a path is what people type and bookmark:
  // `/portal/console/users?search=a` is the page `/portal/console/#/users?search=a`.
  app.addHook("onRequest", async (request, reply) => {
    const page = request.method === "GET" || request.method === "HEAD" ? PAGE_PATH.exec(request.url.slice(app.prefix.length)) : null;
    if (page) return reply.redirect(`${app.prefix}/console/#/${page[1]}${page[2] ?? ""}`);
  });
  // Back from a provider's login opened at the server's own URL, the console is told its provider
  // (`?provider=`: http/routes/provider-login.ts); its files take no other parameter.
  app.addHook("onRoute", (route) => {
    const query = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    if (query?.properties) query.properties.provider = { type: "string", maxLength: 64 };
  });
  if (!existsSync(`${CONSOLE_DIR}index.html`)) {
    const { code, status } = ErrorCodes.routeNotFound;
    app.get("/console/*", { schema: { hide: true } }, (_request, reply) => reply.code(status).send(errorBody(code, "The console is not built: run `npm run build` (or `npm ci`).")));
    return;
  }
  // A file found and then gone before it is read (the console rebuilt or removed under a running
  // server) fails as its answer is sent, with the file's headers already set (its type, length,
  // encoding): those go, and a file gone is the 404 any missing file is, anything else the app's 500.
  // Set before the plugin is registered, which takes this context's handler as it is then.
  const handle = app.errorHandler;
  app.setErrorHandler(function (error, request, reply) {
    for (const header of FILE_HEADERS) reply.removeHeader(header);
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return reply.callNotFound();
    return handle.call(this, error, request, reply);
  });
  await app.register(fastifyStatic, {
    root: CONSOLE_DIR,
    prefix: "/console/",
    preCompressed: true,
    decorateReply: false,
    setHeaders(res, path) {
      // Every file but the entry page has its content's hash in its name.
      res.header("cache-control", /index\.html(\.br|\.gz)?$/.test(path) ? "no-cache" : "public, max-age=31536000, immutable");
    },
  });
};

export default consoleRoutes;
