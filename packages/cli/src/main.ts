#!/usr/bin/env node
import { run } from "./cli.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // `ecm users list | head`: a closed pipe is not an error worth a trace
  if (err.code === "EPIPE") process.exit(0);
});

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
