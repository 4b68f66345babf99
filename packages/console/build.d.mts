// The types of build.mjs, which stays plain JavaScript (npm's prepare step runs it before anything is
// compiled), for the tests that import it.
import type { Metafile } from "esbuild";

/** Builds into `outdir` (default dist/): the files the entry page loads first, and a version of them. */
export function buildConsole(outdir?: string): Promise<{ outdir: string; metafile: Metafile; script: string; style: string; version: string }>;
/** Builds unless dist/ is newer than every source it is made of. */
export function ensureBuilt(): Promise<void>;
