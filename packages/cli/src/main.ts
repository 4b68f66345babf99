#!/usr/bin/env node
import { run } from "./cli.js";
import { goOnWithoutOutput } from "./closed-output.js";
import { ExitCode, fileProblem } from "./errors.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // `ecm users list | head`: a closed pipe is not an error worth a trace (an import goes on to its end).
  if (err.code === "EPIPE") {
    if (!goOnWithoutOutput(process.stdout)) process.exit(ExitCode.ok);
    return;
  }
  // A full disk or a failing device: said, and a failure, not output lost without a word.
  process.stderr.write(`ecm: cannot write the output: ${fileProblem(err, false)}\n`);
  process.exit(ExitCode.error);
});

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
