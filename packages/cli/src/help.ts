import type { Command, OptionHelp, Options } from "./command.js";
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

function outputHelp(formats: readonly OutputFormat[]): OptionHelp[] {
  if (formats.length === 0) return [];
  const words = formats.map((f, i) => (i === 0 && formats.length > 1 ? `${f} (default)` : f));
  const list = words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
  // How CSV writes what JSON keeps as structure (packages/cli/README.md, "Output").
  const csv = formats.includes("csv") ? "\ncsv: each cell text, as on a table; a list's items, and an object's fields as\nname=value (nested: name.sub=value; a list of objects': 0.name=value;1.name=…),\njoined with ; (\\; and \\\\ inside one)" : "";
  return [["-o, --output FORMAT", list + csv]];
}

const GLOBAL_HELP: OptionHelp[] = [
  ["--url URL", "server base URL (else ECM_URL, else the URL saved by ecm login)"],
  ["--timeout MS", "timeout of each request in milliseconds"],
  ["-h, --help", "show help (ecm --version: the version)"],
];

/** Flags longer than this stand on a line of their own, their description below in the column. */
const FLAGS_MAX = 30;

/**
 * The lines of option help sections (a command's options, the global ones), every description in one
 * column: the widest flags up to FLAGS_MAX, then three spaces.
 */
function optionSections(...sections: (readonly OptionHelp[])[]): string[][] {
  const options = sections.flat().filter((e): e is Exclude<OptionHelp, string> => typeof e !== "string");
  // Long names line up: after "-s, " where any option of the page has a short name.
  const short = (flags: string) => /^-\w\b/.test(flags);
  const shortNames = options.some(([flags]) => short(flags));
  const flagsOf = (flags: string) => (shortNames && !short(flags) ? `    ${flags}` : flags);
  const width = Math.max(0, ...options.map(([flags]) => flagsOf(flags).length).filter((n) => n <= FLAGS_MAX));
  const column = " ".repeat(width + 3);
  const lines = (e: OptionHelp): string[] => {
    if (typeof e === "string") return [e];
    const flags = flagsOf(e[0]);
    if (e[1] === undefined) return [flags];
    const [first, ...more] = e[1].split("\n");
    const head = flags.length <= width ? [`${flags.padEnd(width)}   ${first}`] : [flags, column + first];
    return [...head, ...more.map((l) => column + l)];
  };
  return sections.map((entries) => entries.flatMap(lines).map((l) => `  ${l}`));
}

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

const globalHelp = (formats: readonly OutputFormat[] = OUTPUT_FORMATS) => [...outputHelp(formats), ...GLOBAL_HELP];
const globalOptionLines = () => ["Global options:", ...optionSections(globalHelp())[0]!];

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
      "  credentials, the first set is used: an API key, else a token, else the password); ECM_USERNAME",
      "  without ECM_PASSWORD takes the saved login only if it is that account's (else exit 3);",
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
  const [options, global] = optionSections(c.optionHelp ?? [], globalHelp(formatsOf(c)));
  if (options!.length > 0) lines.push("", "Options:", ...options!);
  lines.push("", "Global options:", ...global!, "", EXIT_CODES_HELP);
  return lines.join("\n") + "\n";
}
