import type { Command, Options } from "./command.js";
import { EXIT_CODES_HELP } from "./errors.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.js";
import { COMMANDS } from "./registry.js";

export const GLOBAL_OPTIONS: Options = {
  output: { type: "string", short: "o" },
  url: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};
/** The formats a command writes, its default first. */
export const formatsOf = (c: Command): readonly OutputFormat[] => c.formats ?? OUTPUT_FORMATS;

function outputHelp(formats: readonly OutputFormat[]): string[] {
  if (formats.length === 0) return [];
  const words = formats.map((f, i) => (i === 0 && formats.length > 1 ? `${f} (default)` : f));
  const list = words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
  return [`-o, --output FORMAT   ${list}`];
}

const GLOBAL_HELP = [
  "    --url URL         server base URL (else ECM_URL, else the URL saved by ecm login)",
  "    --timeout MS      timeout of each request in milliseconds",
  "-h, --help            show help (ecm --version: the version)",
];

/** What an argument names, said once in the help of every command that takes it. */
const ARG_HELP: Record<string, string> = {
  "<user>": "<user> is a username or a user guid.",
  "<group>": "<group> is a group name or a group guid.",
  "<alias>": "<alias> is the identity provider's alias (ecm idps list).",
  "<directory>": "<directory> is a directory's name or id (ecm directories list).",
};

/** The command groups (`users`, `groups`, …): first words of commands that have a second. */
export function commandGroups(): string[] {
  return [...new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0]!))];
}

function commandLines(cs: readonly Command[]): string[] {
  const usage = (c: Command) => `${c.path.join(" ")} ${c.args}`;
  const w = Math.max(...cs.map((c) => usage(c).length));
  return cs.map((c) => `  ${usage(c).padEnd(w)}  ${c.summary}`);
}

const globalOptionLines = (formats: readonly OutputFormat[] = OUTPUT_FORMATS) => [
  "Global options:",
  ...[...outputHelp(formats), ...GLOBAL_HELP].map((l) => `  ${l}`),
];

export function mainHelp(): string {
  return (
    [
      "ecm — administer ECM Security users, groups and roles",
      "",
      "Usage: ecm <command> [options]",
      "",
      "Commands:",
      ...commandLines(COMMANDS),
      "",
      ...globalOptionLines(),
      "",
      "Environment:",
      "  ECM_URL, ECM_API_KEY, ECM_TOKEN, ECM_USERNAME + ECM_PASSWORD override the saved login (of the",
      "  credentials, the first set is used: an API key, else a token, else the password);",
      "  XDG_CONFIG_HOME (default ~/.config): the login is saved in $XDG_CONFIG_HOME/ecm/config.json (mode 0600).",
      "",
      EXIT_CODES_HELP,
      "",
      'Run "ecm <command> --help" for the options of a command.',
    ].join("\n") + "\n"
  );
}

export function groupHelp(group: string): string {
  return (
    [
      `Usage: ecm ${group} <command> [options]`,
      "",
      "Commands:",
      ...commandLines(COMMANDS.filter((c) => c.path[0] === group)),
      "",
      ...globalOptionLines(),
      "",
      `Run "ecm ${group} <command> --help" for the options of a command.`,
    ].join("\n") + "\n"
  );
}

export function commandHelp(c: Command): string {
  const lines = [`Usage: ecm ${c.path.join(" ")}${c.args ? " " + c.args : ""} [options]`, "", c.summary[0]!.toUpperCase() + c.summary.slice(1) + "."];
  for (const [name, text] of Object.entries(ARG_HELP)) if (c.args.includes(name)) lines.push(text);
  if (c.optionHelp?.length) lines.push("", "Options:", ...c.optionHelp.map((l) => `  ${l}`));
  lines.push("", ...globalOptionLines(formatsOf(c)), "", EXIT_CODES_HELP);
  return lines.join("\n") + "\n";
}
