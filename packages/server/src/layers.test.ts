import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const src = dirname(fileURLToPath(import.meta.url));

/** The parts of the server and the parts each may not import: dependencies point one way, towards the domain and the store. */
const FORBIDDEN: Record<string, string[]> = {
  // The store may use the domain's pure field rules (folding, search text), nothing above it.
  storage: ["http", "auth", "directory", "federation"],
  domain: ["http"],
  auth: ["http"],
  directory: ["http"],
  federation: ["http"],
};

function sources(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch {
    return [];
  }
  return entries.filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => join(dir, f));
}

describe("layers", () => {
  for (const [part, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${part}/ imports none of ${forbidden.join(", ")}`, () => {
      for (const file of sources(join(src, part))) {
        for (const [, spec] of readFileSync(file, "utf8").matchAll(/from\s+"(\.[^"]+)"/g)) {
          const target = relative(src, resolve(dirname(file), spec!)).split("/")[0]!;
          assert.ok(!forbidden.includes(target), `${relative(src, file)} imports ${spec}`);
        }
      }
    });
  }
});
