import assert from "node:assert/strict";
import { ACCOUNT_LOCK_SCHEMA, AD_SCHEMA, Slapd, type SlapdOptions } from "./slapd.js";
import { DIRECTORY_SERVICE_PASSWORD, DirectoryTree, GROUPS, type TreeKind } from "./directory-trees.js";
import type { TestServer } from "./server.js";

/** A slapd loaded with a generated tree (LDAPS and StartTLS with a CA of its own). */
export async function startDirectory(kind: TreeKind, generated: number, more: Pick<SlapdOptions, "refint"> = {}): Promise<{ tree: DirectoryTree; slapd: Slapd }> {
  const tree = new DirectoryTree(kind, generated);
  const indexes = kind === "ad" ? ["sAMAccountName", "objectGUID", "member", "uSNChanged"] : ["uid", "entryUUID", "member", "modifyTimestamp"];
  // A domain controller names itself in its root DSE, as Active Directory's do.
  const rootDse = kind === "ad" ? domainController(tree, "DC1") : undefined;
  const { slapd } = await Slapd.start({ suffix: tree.suffix, schemas: [kind === "ad" ? AD_SCHEMA : ACCOUNT_LOCK_SCHEMA], indexes, ldif: tree.ldif(), tls: true, rootDse, ...more });
  return { tree, slapd };
}

/** The root DSE's `dsServiceName` of the Active-Directory-like tree's domain controller `name`. */
export function domainController(tree: DirectoryTree, name: string): string {
  return `dsServiceName: CN=NTDS Settings,CN=${name},CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,${tree.suffix}`;
}

/** The configuration of a tree's directory over StartTLS (the body of POST …/external-user-storage). */
export function directoryConfig(tree: DirectoryTree, slapd: Slapd, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `${tree.kind} directory`,
    vendor: tree.vendor,
    connectionUrl: slapd.url,
    startTls: true,
    caCertificate: slapd.caPem,
    baseDn: tree.suffix,
    bindDn: tree.serviceDn,
    bindPassword: DIRECTORY_SERVICE_PASSWORD,
    userFilter: tree.userFilter,
    groupEntryDnList: [tree.groupDn(GROUPS[0]), tree.groupDn(GROUPS[3])],
    ...more,
  };
}

/** Starts a sync and waits for its end; returns the run as `GET …/sync` shows it. */
export async function syncAndWait(s: TestServer, token: string, id: string, body: Record<string, unknown> = { mode: "full" }): Promise<any> {
  const started = await s.api("POST", `/security/v1/external-user-storage/${id}/sync`, { token, body });
  assert.equal(started.status, 202, started.text);
  return waitForSync(s, token, id);
}

/** Polls `GET …/sync` until the run is no longer running. */
export async function waitForSync(s: TestServer, token: string, id: string): Promise<any> {
  for (let i = 0; i < 1200; i++) {
    const r = await s.api("GET", `/security/v1/external-user-storage/${id}/sync`, { token });
    assert.equal(r.status, 200, r.text);
    if (r.body.state !== "running") return r.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the sync did not end within a minute");
}
