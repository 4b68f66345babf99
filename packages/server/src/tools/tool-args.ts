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
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(about ? `${usage}\n${about}` : usage);
    process.exit(0);
  }
  return values;
}
