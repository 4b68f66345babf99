// The thread of startFlakyProxy (flaky-proxy.ts): the proxy itself. Plain JavaScript, so that the
// thread starts no loader; `Fault` and the messages are described in flaky-proxy.ts.
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

/** @param {{ target: string, port: import("node:worker_threads").MessagePort, flag: Int32Array }} data */
async function serve({ target: targetBaseUrl, port, flag }) {
  const target = new URL(targetBaseUrl);
  let faults = [];
  let passed = [];
  const server = http.createServer((req, res) => {
    Atomics.add(flag, 1, 1);
    const fault = faults.shift();
    if (fault === "drop") return req.socket.destroy();
    if (fault === "hold") return;
    if (fault === "503" || fault === "503-retry-later") {
      const body = JSON.stringify({ errorMessage: "ECMS1901-E The service is unavailable.", additionalInfo: "{}" });
      res.writeHead(503, { "content-type": "application/json", "retry-after": fault === "503" ? "0" : "3600" });
      return res.end(body);
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        passed.push(`${req.method} ${req.url.split("?")[0]} ${up.statusCode}`);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault === undefined) return up.pipe(res);
        // Mid-answer: the first bytes, then the fault.
        const limit = "dropAfter" in fault ? fault.dropAfter : fault.stallAfter;
        let sent = 0;
        up.on("data", (chunk) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent < limit) return;
          up.destroy();
          if ("dropAfter" in fault) setTimeout(() => req.socket.destroy(), fault.pauseMs ?? 0);
        });
        // An answer shorter than the limit ends as it is; a longer one never ends cleanly.
        up.on("end", () => sent < limit && res.end());
      },
    );
    upstream.on("error", () => req.socket.destroy());
    req.pipe(upstream);
  });
  const answer = (value) => {
    port.postMessage(value);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  port.on("message", ({ op, arg }) => {
    if (op === "faults") answer(faults);
    else if (op === "setFaults") answer((faults = [...arg]).length);
    else if (op === "passed") answer(passed);
    else if (op === "clearPassed") answer((passed = []).length);
    else if (op === "close") {
      server.closeAllConnections();
      server.close();
      answer(true);
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${server.address().port}${target.pathname}`;
}

parentPort.postMessage(await serve(workerData));
