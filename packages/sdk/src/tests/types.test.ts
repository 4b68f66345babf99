/**
 * Compile-time contract: the extended fields are typed as present only with `extendedInfo: true`, and
 * ECMSync's methods are typed as ECM's.
 * Type-checks a snippet with the TypeScript compiler (test files are not part of the build).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const snippet = (indexPath: string) => `
import { ECM, ECMSync, ECMNotFoundError, type ECMUser, type ECMGroup, type ECMUserGroup, type Security, type SecuritySync } from ${JSON.stringify(indexPath)};
declare const ecm: ECM;
declare const sync: ECMSync;

// Every ECMSync method takes the options of ECM's (its AbortSignal aside) and returns what ECM's resolves to
// (the iterators, generators on both sides, aside): a mismatch is named in the error.
type Fn = (...a: never[]) => unknown;
type OptionNames<T> = T extends readonly unknown[] ? never : T extends object ? Exclude<keyof T, "signal"> : never;
type Same<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
type Twin = Exclude<keyof Security & keyof SecuritySync, "iterUsers" | "iterUserBatches" | "importUsers">;
type Unlike = {
  [K in Twin]: Security[K] extends Fn
    ? SecuritySync[K] extends Fn
      ? Same<OptionNames<NonNullable<Parameters<Security[K]>[number]>>, OptionNames<NonNullable<Parameters<SecuritySync[K]>[number]>>> extends true
        ? Same<Awaited<ReturnType<Security[K]>>, ReturnType<SecuritySync[K]>> extends true
          ? never
          : \`\${K} returns another type\`
        : \`\${K} takes other options\`
      : K
    : K;
}[Twin];
export const syncMirrorsAsync: [Unlike] extends [never] ? true : { unlike: Unlike } = true;

export async function check(): Promise<void> {
  const ext = await ecm.security.users({ extendedInfo: true });
  const from: Date | null = ext[0]!.validFrom;
  const groups: string[] = ext[0]!.groups;
  const remark: string = ext[0]!.remark;
  const basic = await ecm.security.users();
  const empty: "" = basic[0]!.remark;
  const none: null = basic[0]!.validTo;
  const notLockedOut: false = basic[0]!.lockedOut;
  const until: Date | null = ext[0]!.lockedOutUntil;
  const lockedOut: boolean = ext[0]!.lockedOut;
  // @ts-expect-error without extendedInfo validFrom is typed null, not a Date
  const wrong: Date = basic[0]!.validFrom;
  const either: ECMUser[] = await ecm.security.users({ extendedInfo: Math.random() > 0.5 });
  // @ts-expect-error either kind: validFrom may be null
  const alsoWrong: Date = either[0]!.validFrom;
  const id: number = basic[0]!.id;
  const guid: string = basic[0]!.guid;
  const locked: boolean = basic[0]!.locked;
  ext[0]!.groups.push("staff");
  // @ts-expect-error a plain list's users share one frozen empty groups list
  basic[0]!.groups.push("staff");
  const isStaff: boolean = basic[0]!.groups.includes("staff");
  // @ts-expect-error a plain user is no extended one (its groups were not read)
  const notExtended: ECMUser<true>[] = basic;

  const s = sync.security.users({ extendedInfo: true });
  const syncFrom: Date | null = s[0]!.validFrom;
  // @ts-expect-error ECMSync returns values, not promises
  const notPromise: Promise<unknown> = sync.security.users();
  for await (const u of ecm.security.iterUsers({ extendedInfo: true, after: "alice" })) {
    const to: Date | null = u.validTo;
  }
  for (const u of sync.security.iterUsers({ search: "x" })) {
    const to: null = u.validTo;
  }
  const one: ECMUser<true> = await ecm.security.user("alice");
  const g: ECMGroup = await ecm.security.group("staff");
  const gid: number = g.id;
  // ECMSync takes and returns what ECM does: userGroups' own option and the memberships' sources.
  const mine: ECMUserGroup[] = await ecm.security.userGroups(one, { direct: true });
  const syncMine: ECMUserGroup[] = sync.security.userGroups(one, { direct: true });
  const syncedBy: string | undefined = syncMine[0]!.syncedBy;
  // @ts-expect-error ECMSync takes no AbortSignal
  sync.security.users({ signal: AbortSignal.abort() });
  await ecm.security.users({ signal: AbortSignal.timeout(1000), timeout: 500 });
  const e: unknown = new ECMNotFoundError("x");
  void [notLockedOut, until, lockedOut, isStaff, notExtended, mine, syncedBy];
  void [from, groups, remark, empty, none, wrong, alsoWrong, id, guid, locked, syncFrom, notPromise, one, gid, e];
}
`;

test("users() overloads: extended fields typed as present only with extendedInfo: true; ECMSync's methods take ECM's options and return what ECM's resolve to", () => {
  const dir = mkdtempSync(join(fileURLToPath(new URL("../../test/", import.meta.url)), "tmp-types-"));
  try {
    const file = join(dir, "check.ts");
    writeFileSync(file, snippet(fileURLToPath(new URL("../index.js", import.meta.url))));
    const program = ts.createProgram([file], {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      noEmit: true,
      skipLibCheck: true,
      noUnusedLocals: false,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    assert.deepEqual(diagnostics, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
