import type { ParseArgsConfig } from "node:util";
import type { ECM } from "ecm-sdk";
import type { OutputFormat, Row, Writer } from "./output.js";

/** Where a run reads and writes: the process's streams and environment, or a test's. */
export interface Io {
  stdout: Writer;
  stderr: Writer;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command's `run` gets: parsed options and arguments, the client, and output helpers. */
export interface Ctx {
  io: Io;
  format: OutputFormat;
  values: Values;
  args: string[];
  ecm(): ECM;
  out(columns: string[], row: Row): void;
  list(columns: string[], rows: Iterable<Row>): void;
  note(text: string): void;
}

/**
 * An option's help: its flags and what it does (each further line of the text continues it, in the same
 * column), or a line of prose.
 */
export type OptionHelp = readonly [flags: string, text?: string] | string;

/** One command: `ecm <path…> <args> [options]`. A command group is a folder of these under commands/. */
export interface Command {
  path: string[];
  args: string;
  summary: string;
  options?: Options;
  /** Help for the options, in order (help.ts lines them up). */
  optionHelp?: OptionHelp[];
  /** The --output formats it writes, the first the default (default: all, table first); [] when it prints no data. */
  formats?: readonly OutputFormat[];
  run(ctx: Ctx): Promise<number | void>;
}
