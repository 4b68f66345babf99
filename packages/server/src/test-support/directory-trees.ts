import { createHash } from "node:crypto";
import { ldifLine } from "./slapd.js";

/**
 * The two directories the tests sync and log in against, generated as LDIF: a plain OpenLDAP tree
 * (inetOrgPerson, entryUUID made by slapadd) and one that looks like Active Directory (AD_SCHEMA:
 * sAMAccountName, objectGUID as bytes, userAccountControl, pwdLastSet, accountExpires, memberOf,
 * uSNChanged). Both: `users` generated people in nested OUs with non-ASCII names, named people for
 * the cases (a disabled one, an invalid username …), a service account, and nested groups with a
 * cycle: staff ⊃ engineering ⊃ developers ⊃ engineering.
 */

export const DIRECTORY_USER_PASSWORD = "Directory-Pass-1";
export const DIRECTORY_SERVICE_PASSWORD = "Reader-Secret-1";

export type TreeKind = "openldap" | "ad";

/** When the OpenLDAP tree's entries were last changed, as far as `modifyTimestamp>=` knows: long ago, so a `changed` sync reads only the changes a test makes. */
const LOADED_AT = "20200101000000Z";

interface Person {
  /** uid / sAMAccountName */
  name: string;
  given: string;
  sn: string;
  ou: string[];
  disabled?: boolean;
  mustChange?: boolean;
  expired?: boolean;
}

const GIVEN = ["Hans", "Zoë", "Łukasz", "Søren", "Ζωή", "Иван", "José", "Çağrı", "Anna", "Wei"];
const SURNAMES = ["Müller", "Ødegård", "Wiśniewski", "Παπαδόπουλος", "Иванов", "Núñez", "Yılmaz", "Smith", "Dvořák", "Zhang"];
/** Leaf OUs under People, nested two deep. */
const OUS = [["Zürich"], ["Berlin"], ["team-1", "Kraków"], ["team-2", "Kraków"]];

/** The named people of both trees. */
export const NAMED = {
  hmueller: { name: "hmueller", given: "Hans", sn: "Müller", ou: ["Zürich"] },
  zoe: { name: "zoe", given: "Ζωή", sn: "Παπαδοπούλου", ou: ["Berlin"] },
  ivan: { name: "ivan", given: "Иван", sn: "Иванов", ou: ["team-1", "Kraków"] },
  locked: { name: "locked", given: "Lena", sn: "Locked", ou: ["Berlin"], disabled: true },
  mustchange: { name: "mustchange", given: "Max", sn: "Change", ou: ["Berlin"], mustChange: true },
  expired: { name: "expired", given: "Eve", sn: "Expired", ou: ["Berlin"], expired: true },
  /** Not a valid username here (a space): a per-entry problem of every sync. */
  invalid: { name: "bad user", given: "Bad", sn: "Name", ou: ["Berlin"] },
} satisfies Record<string, Person>;

export const GROUPS = ["staff", "engineering", "developers", "zürich-office"] as const;
export type GroupName = (typeof GROUPS)[number];

export class DirectoryTree {
  readonly suffix: string;
  readonly vendor: "OTHER" | "ACTIVE_DIRECTORY";
  /** The highest uSNChanged the data holds (Active Directory tree): changes made later take the next ones. */
  usn = 0;
  private readonly people: Person[] = [];
  private readonly byName = new Map<string, Person>();

  constructor(
    readonly kind: TreeKind,
    /** Generated people besides the named ones. */
    readonly generated: number,
  ) {
    this.suffix = kind === "ad" ? "DC=corp,DC=example" : "dc=example,dc=org";
    this.vendor = kind === "ad" ? "ACTIVE_DIRECTORY" : "OTHER";
    this.people.push(...Object.values(NAMED));
    for (let i = 1; i <= generated; i++) {
      this.people.push({ name: generatedName(i), given: GIVEN[i % GIVEN.length]!, sn: SURNAMES[Math.floor(i / GIVEN.length) % SURNAMES.length]!, ou: OUS[i % OUS.length]! });
    }
    for (const p of this.people) this.byName.set(p.name, p);
  }

  /** Entries that pass the user filter (the invalid one included). */
  get userCount(): number {
    return this.people.length;
  }

  get peopleDn(): string {
    return this.kind === "ad" ? `OU=People,${this.suffix}` : `ou=people,${this.suffix}`;
  }

  get serviceDn(): string {
    return this.kind === "ad" ? `CN=Reader,OU=Service,${this.suffix}` : `cn=reader,ou=service,${this.suffix}`;
  }

  /** The user filter a configuration of this tree uses (Active Directory's objectCategory is a DN here, not AD's shorthand). */
  get userFilter(): string {
    return this.kind === "ad" ? `(&(objectClass=user)(objectCategory=CN=Person,CN=Schema,CN=Configuration,${this.suffix}))` : "(objectClass=inetOrgPerson)";
  }

  ouDn(ou: string[]): string {
    const attr = this.kind === "ad" ? "OU" : "ou";
    return [...ou.map((o) => `${attr}=${o}`), this.peopleDn].join(",");
  }

  /** The DN of a person (by uid / sAMAccountName) in its OU, or in `ou` after a move. */
  dn(name: string, ou?: string[]): string {
    const p = this.person(name);
    const rdn = this.kind === "ad" ? `CN=${escapeRdn(adCn(p))}` : `uid=${escapeRdn(p.name)}`;
    return `${rdn},${this.ouDn(ou ?? p.ou)}`;
  }

  groupDn(name: GroupName): string {
    return this.kind === "ad" ? `CN=${name},OU=Groups,${this.suffix}` : `cn=${name},ou=groups,${this.suffix}`;
  }

  person(name: string): Person {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no person ${name}`);
    return p;
  }

  /** The direct members of each group: generated people by number, named people, nested groups. */
  members(group: GroupName): string[] {
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => this.dn(generatedName(from + i)));
    switch (group) {
      case "staff":
        return [...range(1, Math.min(2000, this.generated)), this.groupDn("engineering")];
      case "engineering":
        return [...range(2001, Math.min(2500, this.generated)), this.dn("hmueller"), this.groupDn("developers")];
      case "developers":
        return [...range(2501, Math.min(2600, this.generated)), this.dn("zoe"), this.groupDn("engineering")];
      case "zürich-office":
        return this.people.filter((p) => p.ou[0] === "Zürich").slice(0, 300).map((p) => this.dn(p.name));
    }
  }

  /** objectGUID of an entry: stable per DN of its creation, 16 bytes. */
  guid(seed: string): Buffer {
    return createHash("md5").update(`${this.kind}:${seed}`).digest();
  }

  /** The whole tree as LDIF, in chunks of about a thousand entries. */
  *ldif(): Generator<string> {
    const ad = this.kind === "ad";
    const ou = (dn: string, name: string) => `${ldifLine("dn", dn)}objectClass: organizationalUnit\n${ldifLine("ou", name)}\n`;
    let out = ad
      ? `dn: ${this.suffix}\nobjectClass: dcObject\nobjectClass: organization\no: corp\ndc: corp\n\n`
      : `dn: ${this.suffix}\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n\n`;
    out += ou(this.peopleDn, "People") + ou(this.serviceDn.split(",").slice(1).join(","), "Service") + ou(this.groupDn("staff").split(",").slice(1).join(","), "Groups");
    for (const leaf of [...new Set(OUS.flatMap((o) => o.map((_, i) => JSON.stringify(o.slice(i)))))].map((s) => JSON.parse(s) as string[]).sort((a, b) => a.length - b.length)) {
      out += ou(this.ouDn(leaf), leaf[0]!);
    }
    out += `${ldifLine("dn", this.serviceDn)}objectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ${ad ? "Reader" : "reader"}\nuserPassword: ${DIRECTORY_SERVICE_PASSWORD}\n\n`;
    const memberOf = new Map<string, string[]>();
    if (ad) for (const g of GROUPS) for (const m of this.members(g)) memberOf.set(m, [...(memberOf.get(m) ?? []), this.groupDn(g)]);
    for (const [i, p] of this.people.entries()) {
      out += this.personLdif(p, memberOf.get(this.dn(p.name)) ?? []);
      if (i % 1000 === 999) {
        yield out;
        out = "";
      }
    }
    for (const g of GROUPS) {
      out += `${ldifLine("dn", this.groupDn(g))}objectClass: groupOfNames\n${ad ? "objectClass: group\n" : ""}${ldifLine("cn", g)}${ldifLine("description", `The ${g} group`)}`;
      for (const m of this.members(g)) out += ldifLine("member", m);
      out += ad ? `${ldifLine("objectGUID", this.guid(this.groupDn(g)))}uSNChanged: ${++this.usn}\n` : `modifyTimestamp: ${LOADED_AT}\n`;
      out += "\n";
    }
    yield out;
  }

  private personLdif(p: Person, groups: string[]): string {
    const ad = this.kind === "ad";
    const dn = this.dn(p.name);
    // slapd wants an attribute's values together: the object classes first.
    let out = `${ldifLine("dn", dn)}objectClass: inetOrgPerson\nobjectClass: ${ad ? "user" : "lockableAccount"}\n`;
    out += ldifLine("cn", ad ? adCn(p) : `${p.given} ${p.sn}`);
    out += ldifLine("sn", p.sn) + ldifLine("givenName", p.given) + ldifLine("mail", `${p.name.replace(/\s/g, ".")}@example.org`) + `userPassword: ${DIRECTORY_USER_PASSWORD}\n`;
    if (ad) {
      out += ldifLine("sAMAccountName", p.name) + ldifLine("userPrincipalName", `${p.name.replace(/\s/g, ".")}@corp.example`);
      out += ldifLine("displayName", `${p.given} ${p.sn}`) + ldifLine("objectGUID", this.guid(dn));
      out += `userAccountControl: ${p.disabled ? 514 : 512}\npwdLastSet: ${p.mustChange ? 0 : 133_000_000_000_000_000}\n`;
      out += `accountExpires: ${p.expired ? 132_000_000_000_000_000 : 0}\n`;
      out += ldifLine("objectCategory", `CN=Person,CN=Schema,CN=Configuration,${this.suffix}`);
      for (const g of groups) out += ldifLine("memberOf", g);
      out += `uSNChanged: ${++this.usn}\n`;
    } else {
      out += ldifLine("uid", p.name) + `modifyTimestamp: ${LOADED_AT}\n`;
      if (p.disabled) out += "nsAccountLock: TRUE\n";
    }
    return `${out}\n`;
  }
}

/** Active Directory names people "Last, First": unique in an OU with the account name. */
const adCn = (p: Person) => `${p.sn}, ${p.given} (${p.name})`;

/** `u00001`, … */
export function generatedName(i: number): string {
  return `u${String(i).padStart(5, "0")}`;
}

/** A value as an RDN value (RFC 4514): the specials escaped. */
function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
}

