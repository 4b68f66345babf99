/** LIKE pattern matching `needle` literally anywhere (with `escape '\'`, PostgreSQL's default): the escape character and wildcards are escaped. */
export function containsPattern(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
