import { str } from "../../args.js";
import { UsageError } from "../../errors.js";
import type { Command, Ctx } from "../../command.js";
import { findGroup } from "../../lookup.js";
import { formatBytes, Progress } from "../../output.js";
import { isRestart, RestartPatience } from "../../restarts.js";
import { ExportSink } from "./sink.js";

export const exportCommand: Command = {
  path: ["export"],
  args: "",
  summary: "export users, groups, memberships and role mappings as JSON",
  formats: ["json", "ndjson"],
  options: { group: { type: "string", short: "g", multiple: true }, file: { type: "string", short: "f" } },
  optionHelp: [
    ["-g, --group NAME", "only these groups and their members (repeatable)"],
    ["-f, --file PATH", "write to this file instead of standard output (-: standard output)"],
    "Output: json (default) is the server's export document as it streams; ndjson is one {\"kind\",…} line per record.",
  ],
  async run(ctx) {
    return exportAll(ctx);
  },
};

async function exportAll(ctx: Ctx): Promise<void> {
  const groups = (ctx.values.group as string[] | undefined) ?? [];
  const given = str(ctx.values, "file");
  if (given === "") throw new UsageError("--file needs a path (leave it out to write to standard output)");
  // `-` is standard output, as `ecm import -` reads standard input (a file named so is ./-).
  const file = given === "-" ? undefined : given;
  const ecm = ctx.ecm();
  const sec = ecm.security;
  const guids: string[] = [];
  for (const g of groups) guids.push((await findGroup(ctx, g)).guid);
  const tty = ctx.io.stderr.isTTY === true;
  // On a terminal: a bar over the users exported so far (counted as they stream in) of all users.
  const total = tty && guids.length === 0 ? await sec.countUsers() : 0;
  const sink = new ExportSink(ctx.io.stdout, file);
  const progress = new Progress(ctx.io.stderr, "Exporting", total, String, sink.toStandardOutput ? ctx.io.stdout : undefined);
  progress.line(`exporting from ${ecm.baseUrl}${groups.length ? ` (groups: ${groups.join(", ")})` : ""}`);
  const selected = guids.length > 0 ? guids : null;
  const patience = new RestartPatience();
  /** The server answered some of the export: a failure from then on may be a restart to wait for. */
  let came = false;
  const answered = () => {
    came = true;
    patience.answered();
  };
  let summary: string;
  for (;;) {
    try {
      summary = ctx.format === "ndjson" ? await writeRecords(sec, selected, sink, progress, answered) : await writeDocument(sec, selected, sink, progress, answered);
      break;
    } catch (err) {
      try {
        if (!came || !isRestart(err)) throw err;
        // The export has no cursor to read on from: it is read again from its start, in place of what was written.
        if (!sink.canStartAgain()) {
          ctx.note("the export broke off with part of it written to standard output, which cannot be taken back (with --file, an export is read again from its start through a server restart)");
          throw err;
        }
        await patience.wait(err);
      } catch (fatal) {
        await sink.close(false);
        throw fatal;
      }
      sink.startAgain();
      progress.line("the server went away: exporting again from the start");
    }
  }
  await sink.close(true);
  progress.done(`Exported ${summary}${file ? ` to ${file}` : ""}`);
}

type Security = ReturnType<Ctx["ecm"]>["security"];

/** `-o ndjson`: one `{"kind", …}` line per record; answers the summary. */
async function writeRecords(sec: Security, selected: string[] | null, sink: ExportSink, progress: Progress, answered: () => void): Promise<string> {
  const counts = new Map<string, number>();
  for await (const { kind, value } of sec.iterExport(selected)) {
    answered();
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    const isItem = kind !== "exportedAt" && value !== null && typeof value === "object" && !Array.isArray(value);
    await sink.write(JSON.stringify(isItem ? { kind, ...(value as object) } : { kind, value }) + "\n");
    if (kind === "users") progress.update(n, "users");
  }
  return [...counts].filter(([k]) => k !== "exportedAt").map(([k, n]) => `${n} ${k}`).join(", ");
}

/** `-o json`: the server's document passes through byte for byte; users are counted as they stream by. Answers the summary. */
async function writeDocument(sec: Security, selected: string[] | null, sink: ExportSink, progress: Progress, answered: () => void): Promise<string> {
  const decoder = new TextDecoder();
  const needle = '"loginName":';
  let tail = "";
  let users = 0;
  let bytes = 0;
  for await (const chunk of sec.exportSecuritySystemStream(selected)) {
    answered();
    const piece = decoder.decode(chunk, { stream: true });
    await sink.write(piece);
    bytes += chunk.byteLength;
    const text = tail + piece;
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) users++;
    tail = text.slice(-(needle.length - 1));
    progress.update(users, `users, ${formatBytes(bytes)}`);
  }
  await sink.write(decoder.decode() + "\n");
  return `${users} ${users === 1 ? "user" : "users"}, ${formatBytes(bytes)}`;
}
