import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "ldapts";

/**
 * A private OpenLDAP `slapd` (Debian's package) for tests and the bench: its own folder and
 * loopback ports, an mdb database loaded offline with `slapadd`, optionally LDAPS and StartTLS with a
 * CA made for it. The Active-Directory-like tree uses AD_SCHEMA, a small schema of ours with Active
 * Directory's names and OIDs (OpenLDAP answers its bitwise matching rule and `uSNChanged>=N`; it
 * cannot split long attributes into ranges nor count USNs by itself: the data carries them).
 */

export const SLAPD_ROOT_PASSWORD = "slapd-root-secret";

/**
 * Active Directory's attributes and classes as far as the sync and the login use them. `user` and
 * `group` are auxiliary here (AD's are structural, with its own hierarchy), added to inetOrgPerson
 * and groupOfNames-like entries.
 */
export const AD_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.159 NAME 'accountExpires' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.96 NAME 'pwdLastSet' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.1360 NAME 'mS-DS-ConsistencyGuid' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.98 NAME 'primaryGroupID' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.120 NAME 'uSNChanged' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
attributetype ( 1.2.840.113556.1.4.782 NAME 'objectCategory' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.2.1 NAME 'dsServiceName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ objectGUID $ mS-DS-ConsistencyGuid $ objectSid $ primaryGroupID $ userAccountControl $ accountExpires $ pwdLastSet $ uSNChanged $ memberOf $ objectCategory ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' AUXILIARY MAY ( sAMAccountName $ objectGUID $ objectSid $ uSNChanged $ memberOf $ objectCategory ) )
`;

/** 389 Directory Server's lock flag, for the plain tree's disabled accounts. */
export const ACCOUNT_LOCK_SCHEMA = `
attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'lockableAccount' AUXILIARY MAY nsAccountLock )
`;

export interface SlapdOptions {
  /** e.g. `dc=example,dc=org` */
  suffix: string;
  /** Schemas of our own, as text (the standard core, cosine and inetorgperson are always loaded). */
  schemas?: string[];
  /** Attributes to index for equality (objectClass is always). */
  indexes?: string[];
  /** The entries, LDIF (RFC 2849), in chunks: written to a file and loaded with slapadd. */
  ldif: Iterable<string> | AsyncIterable<string>;
  /** Also listen on LDAPS and offer StartTLS, with a CA made for this server. */
  tls?: boolean;
  /** The folder (made empty first); a temporary one by default, removed by remove(). */
  dir?: string;
  /** Attributes the root DSE answers besides slapd's own (`name: value` lines; setRootDse changes them). */
  rootDse?: string;
  /** OpenLDAP's password policy overlay, its default policy locking an account out after `maxFailure` wrong passwords, for `lockoutSeconds`. */
  ppolicy?: { maxFailure: number; lockoutSeconds: number };
  /** OpenLDAP's referential integrity overlay: a renamed or deleted entry's DN is rewritten in the groups' `member` values. */
  refint?: boolean;
}

/** The default password policy of `ppolicy`, as LDIF: appended to the tree's. */
function policyLdif(suffix: string, { maxFailure, lockoutSeconds }: NonNullable<SlapdOptions["ppolicy"]>): string {
  return [
    `dn: ou=policies,${suffix}\nobjectClass: organizationalUnit\nou: policies\n`,
    `dn: cn=default,ou=policies,${suffix}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: ${maxFailure}\npwdLockoutDuration: ${lockoutSeconds}\n`,
  ].join("\n");
}

function rootDseLdif(lines: string): string {
  return `dn:\nobjectClass: top\n${lines.trim()}\n`;
}

/** A free TCP port on loopback (another process may take it before slapd does: start() retries). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${r.stderr || r.error}`);
}

/** A CA and a server certificate it signed for 127.0.0.1 and localhost (openssl). Returns the CA's PEM. */
function makeCertificates(dir: string): string {
  const p = (f: string) => join(dir, f);
  // EC keys: made in milliseconds, where RSA takes seconds.
  run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=ECM test CA", "-keyout", p("ca.key"), "-out", p("ca.pem")]);
  run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-keyout", p("server.key"), "-out", p("server.csr")]);
  writeFileSync(p("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run("openssl", ["x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("san.ext"), "-out", p("server.pem")]);
  return readFileSync(p("ca.pem"), "utf8");
}

/** LDIF `attribute: value`, base64 when the value is not plain ASCII (RFC 2849). */
export function ldifLine(attribute: string, value: string | Buffer): string {
  if (Buffer.isBuffer(value)) return `${attribute}:: ${value.toString("base64")}\n`;
  return /^[\x20-\x7e]*$/.test(value) && !/^[ :<]/.test(value) && !value.endsWith(" ")
    ? `${attribute}: ${value}\n`
    : `${attribute}:: ${Buffer.from(value, "utf8").toString("base64")}\n`;
}

export class Slapd {
  private process?: ChildProcess;
  readonly rootDn: string;

  private constructor(
    readonly dir: string,
    private readonly conf: string,
    readonly port: number,
    /** The LDAPS port, with `tls`. */
    readonly tlsPort: number | undefined,
    /** The CA that signed the server's certificate, with `tls`. */
    readonly caPem: string | undefined,
    readonly suffix: string,
    private readonly temporary: boolean,
  ) {
    this.rootDn = `cn=admin,${suffix}`;
  }

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  get ldapsUrl(): string {
    if (this.tlsPort === undefined) throw new Error("this slapd was started without tls");
    return `ldaps://127.0.0.1:${this.tlsPort}`;
  }

  /** Writes the configuration and the LDIF, loads it with slapadd and starts slapd. */
  static async start(options: SlapdOptions): Promise<{ slapd: Slapd; loadSeconds: number }> {
    const temporary = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), "ecm-slapd-"));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "db"), { recursive: true });
    const caPem = options.tls ? makeCertificates(dir) : undefined;
    const schemaFiles = (options.schemas ?? []).map((text, i) => {
      const file = join(dir, `own-${i}.schema`);
      writeFileSync(file, text);
      return file;
    });
    const conf = join(dir, "slapd.conf");
    writeFileSync(
      conf,
      [
        ...["core", "cosine", "nis", "inetorgperson"].map((s) => `include /etc/ldap/schema/${s}.schema`),
        ...schemaFiles.map((f) => `include ${f}`),
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        ...(options.ppolicy ? ["moduleload ppolicy"] : []),
        ...(options.refint ? ["moduleload refint"] : []),
        `pidfile ${join(dir, "slapd.pid")}`,
        ...(options.rootDse === undefined ? [] : [`rootDSE ${join(dir, "rootdse.ldif")}`]),
        "sizelimit unlimited",
        ...(caPem ? [`TLSCACertificateFile ${join(dir, "ca.pem")}`, `TLSCertificateFile ${join(dir, "server.pem")}`, `TLSCertificateKeyFile ${join(dir, "server.key")}`] : []),
        "database mdb",
        "maxsize 8589934592",
        `suffix "${options.suffix}"`,
        `rootdn "cn=admin,${options.suffix}"`,
        `rootpw ${SLAPD_ROOT_PASSWORD}`,
        `directory ${join(dir, "db")}`,
        "index objectClass eq",
        ...(options.indexes ?? []).map((a) => `index ${a} eq`),
        ...(options.ppolicy ? ["overlay ppolicy", `ppolicy_default "cn=default,ou=policies,${options.suffix}"`] : []),
        ...(options.refint ? ["overlay refint", "refint_attributes member"] : []),
        "",
      ].join("\n"),
    );
    if (options.rootDse !== undefined) writeFileSync(join(dir, "rootdse.ldif"), rootDseLdif(options.rootDse));
    const ldif = join(dir, "data.ldif");
    const out = createWriteStream(ldif);
    for await (const chunk of options.ldif) if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    if (options.ppolicy) out.write(`\n${policyLdif(options.suffix, options.ppolicy)}`);
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const started = performance.now();
    run("slapadd", ["-q", "-f", conf, "-l", ldif]);
    rmSync(ldif);
    const loadSeconds = (performance.now() - started) / 1000;
    for (let attempt = 0; ; attempt++) {
      const slapd = new Slapd(dir, conf, await freePort(), caPem ? await freePort() : undefined, caPem, options.suffix, temporary);
      try {
        await slapd.resume();
        return { slapd, loadSeconds };
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  }

  /** Starts slapd (again) on its ports and data. */
  async resume(): Promise<void> {
    const urls = [`${this.url}/`, ...(this.tlsPort === undefined ? [] : [`${this.ldapsUrl}/`])];
    const child = spawn("slapd", ["-d", "0", "-f", this.conf, "-h", urls.join(" ")], { stdio: "ignore" });
    this.process = child;
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}`);
      if ((await listening(this.port)) && (this.tlsPort === undefined || (await listening(this.tlsPort)))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`slapd does not listen on ${this.port}`);
  }

  /** Answers other root DSE attributes from now on (slapd reads them at its start: it is restarted on the same ports). */
  async setRootDse(lines: string): Promise<void> {
    await this.stop();
    writeFileSync(join(this.dir, "rootdse.ldif"), rootDseLdif(lines));
    await this.resume();
  }

  /** A client bound as the root DN, for changes made online (ldapmodify's work). */
  async admin(): Promise<Client> {
    const client = new Client({ url: this.url, timeout: 30_000 });
    await client.bind(this.rootDn, SLAPD_ROOT_PASSWORD);
    return client;
  }

  /** Stops slapd (SIGTERM, or SIGKILL: the directory vanishes mid-answer) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await gone;
  }

  /** Stops slapd and removes its folder when it made a temporary one. */
  async remove(): Promise<void> {
    await this.stop();
    if (this.temporary) rmSync(this.dir, { recursive: true, force: true });
  }
}
