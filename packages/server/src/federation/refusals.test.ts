import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { it } from "node:test";
import * as oidc from "openid-client";
import { isUnreachable } from "./refusals.js";

it("a provider that does not answer in time is unreachable (openid-client's own timeout included), not a malformed answer", async () => {
  // Accepts the connection and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as { port: number };
  try {
    const error = await oidc.discovery(new URL(`http://127.0.0.1:${port}/`), "client", undefined, oidc.None(), { execute: [oidc.allowInsecureRequests], timeout: 1 }).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.ok(isUnreachable(error), String(error));
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
