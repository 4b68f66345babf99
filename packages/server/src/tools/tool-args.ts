import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * A tool's command line (npm run seed, bench, fuzz, soak): `--help` (an option of `options`) prints the
 * usage and `about`, exit 0; an option it does not take is its one-line message and the usage, exit 2.
 */
export function toolArgs<const T extends Options>(options: T, usage: string, about = ""): ReturnType<typeof parseArgs<{ options: T }>>["values"] {
  let values: ReturnType<typeof parseArgs<{ options: T }>>["values"];
  try {
    ({ values } = parseArgs({ options }));
  } catch (error) {
    usageError((error as Error).message, usage);
  }
  if ((values as { help?: boolean }).help) {
    console.log(about ? `${usage}\n${about}` : usage);
    process.exit(0);
  }
  return values;
}

/** A value the tool cannot take: its one-line message and the usage, exit 2, before the tool does anything. */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

/** An option's whole number from `min` to `max` (absent: `fallback`), or a usage error naming the option. */
export function wholeNumber(option: string, value: string | undefined, usage: string, { min = 1, max = Number.MAX_SAFE_INTEGER, fallback }: { min?: number; max?: number; fallback?: number } = {}): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const range = max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `of at least ${min}`;
  if (value === undefined) usageError(`--${option} is needed: a whole number ${range}`, usage);
  const number = Number(value);
  if (value.trim() === "" || !Number.isInteger(number) || number < min || number > max) usageError(`--${option} takes a whole number ${range}, not ${JSON.stringify(value)}`, usage);
  return number;
}

/** An option's value among `choices`, or a usage error naming them. */
export function oneOf<const C extends string>(option: string, value: string, choices: readonly C[], usage: string): C {
  if (!(choices as readonly string[]).includes(value)) usageError(`--${option} takes ${choices.join(", ")}, not ${JSON.stringify(value)}`, usage);
  return value as C;
}
