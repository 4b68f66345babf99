import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { domainToASCII } from "node:url";
import { owned, stopped } from "./children.js";
import { Client, OrFilter, SizeLimitExceededError, SubstringFilter } from "ldapts";

/**
 * The OpenLDAP peer: a private slapd (mdb backend, `eq,sub` indexes on uid, cn, sn, givenName, mail)
 * in its own directory and port, loaded with slapadd from the seeded users, queried with ldapts.
 */
const SUFFIX = "dc=example,dc=com";
const PEOPLE = `ou=people,${SUFFIX}`;
const ATTRIBUTES = ["uid", "cn", "sn", "givenName", "mail"];

export interface LdapUser {
  username: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string;
  email: string | null;
}

/** Installs the Debian packages when slapd is missing (the bench runs as root on Debian). */
export function ensureSlapdInstalled(): void {
  if (existsSync("/usr/sbin/slapd") && existsSync("/usr/sbin/slapadd")) return;
  process.stderr.write("installing slapd and ldap-utils (apt-get)…\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "slapd", "ldap-utils"]]) {
    const r = spawnSync("apt-get", args, { env, stdio: "ignore" });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
}

/** LDIF value line: base64 when the value is not plain ASCII (RFC 2849). */
function ldifLine(attribute: string, value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && !/^[ :<]/.test(value) && !value.endsWith(" ")
    ? `${attribute}: ${value}\n`
    : `${attribute}:: ${Buffer.from(value, "utf8").toString("base64")}\n`;
}

/** mail is an IA5 (ASCII) attribute: a non-ASCII domain goes in as punycode. */
function asciiMail(email: string): string {
  const at = email.lastIndexOf("@");
  return at < 0 ? email : `${email.slice(0, at)}@${domainToASCII(email.slice(at + 1))}`;
}

export class Slapd {
  private process?: ChildProcess;
  readonly url: string;

  private constructor(
    port: number,
    private readonly dir: string,
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
  }

  /** Writes the configuration and LDIF, loads it with slapadd and starts slapd. Returns seconds spent loading. */
  static async start(dir: string, port: number, users: AsyncIterable<LdapUser[]>): Promise<{ slapd: Slapd; loadSeconds: number; entries: number }> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "db"), { recursive: true });
    const conf = join(dir, "slapd.conf");
    writeFileSync(
      conf,
      [
        "include /etc/ldap/schema/core.schema",
        "include /etc/ldap/schema/cosine.schema",
        "include /etc/ldap/schema/inetorgperson.schema",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        `pidfile ${join(dir, "slapd.pid")}`,
        "sizelimit unlimited",
        "database mdb",
        "maxsize 8589934592",
        `suffix "${SUFFIX}"`,
        `rootdn "cn=admin,${SUFFIX}"`,
        "rootpw bench-only",
        `directory ${join(dir, "db")}`,
        "index objectClass eq",
        "index uid,cn,sn,givenName,mail eq,sub",
        "",
      ].join("\n"),
    );
    const ldif = join(dir, "users.ldif");
    const out = createWriteStream(ldif);
    const write = (text: string) => new Promise<void>((resolve) => (out.write(text) ? resolve() : out.once("drain", resolve)));
    await write(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n\ndn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n`);
    let entries = 0;
    for await (const batch of users) {
      let text = "";
      for (const u of batch) {
        text += ldifLine("dn", `uid=${u.username},${PEOPLE}`) + "objectClass: inetOrgPerson\n" + ldifLine("uid", u.username) + ldifLine("cn", u.display_name) + ldifLine("sn", u.last_name || u.username);
        if (u.first_name) text += ldifLine("givenName", u.first_name);
        if (u.email) text += ldifLine("mail", asciiMail(u.email));
        text += "\n";
      }
      entries += batch.length;
      await write(text);
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const started = performance.now();
    const load = spawnSync("slapadd", ["-q", "-f", conf, "-l", ldif], { encoding: "utf8" });
    if (load.status !== 0) throw new Error(`slapadd failed: ${load.stderr}`);
    const loadSeconds = (performance.now() - started) / 1000;
    const slapd = new Slapd(port, dir);
    slapd.process = owned(spawn("slapd", ["-d", "0", "-f", conf, "-h", `${slapd.url}/`], { stdio: "ignore" }));
    await waitForPort(port);
    return { slapd, loadSeconds, entries };
  }

  /** A client; each keeps one connection open. */
  client(): Client {
    return new Client({ url: this.url, timeout: 120_000 });
  }

  /** The bench's search as an OR of substring filters over the four name attributes and mail, at most 100 entries. */
  static async search(client: Client, needle: string): Promise<number> {
    const filter = new OrFilter({ filters: ATTRIBUTES.map((attribute) => new SubstringFilter({ attribute, any: [needle] })) });
    try {
      const { searchEntries } = await client.search(PEOPLE, { scope: "sub", filter, sizeLimit: 100, attributes: ATTRIBUTES });
      return searchEntries.length;
    } catch (error) {
      if (error instanceof SizeLimitExceededError) return 100;
      throw error;
    }
  }

  /** Stops slapd and removes its folder (its configuration and database, made again at each start). */
  async remove(): Promise<void> {
    if (this.process) await stopped(this.process);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}
