import assert from "node:assert/strict";
import { it } from "node:test";
import { VENDOR_DEFAULTS } from "./config.js";
import { EntryValues, groupAttributes, groupBinaryAttributes, keyBytes, mapGroup, mapUser, userAttributes } from "./entries.js";

const d = { attributeMapping: VENDOR_DEFAULTS.OTHER.attributeMapping };

it("leaves out, as a problem of that entry, a username, login name or group name holding an invisible or formatting character", () => {
  const person = (uid: string, more: Record<string, string> = {}) => new EntryValues({ dn: `uid=${uid},dc=corp,dc=example`, entryUUID: `uuid-of-${uid}`, uid, cn: "Someone", ...more });
  for (const [uid, character] of [["sysadmin\u200b", "U+200B"], ["sys\u00adadmin", "U+00AD"], ["admin2\u202e", "U+202E"], ["sysadmin\u3164", "U+3164"]] as const) {
    const mapped = mapUser(person(uid), d);
    assert.ok("problem" in mapped, uid);
    // Its key is kept: the user is still in the directory, so a sync does not disable it as gone.
    assert.equal(mapped.key, `uuid-of-${uid}`);
    assert.equal(mapped.problem, `The username (uid) holds an invisible or formatting character (${character}), which would let it pass for another name.`);
  }
  const login = mapUser(person("jdoe", { mail: "jdoe@corp.example" }), { attributeMapping: { ...d.attributeMapping, loginName: "mail" } });
  assert.ok("user" in login);
  const hidden = mapUser(person("jdoe", { mail: "jdoe\u2060@corp.example" }), { attributeMapping: { ...d.attributeMapping, loginName: "mail" } });
  assert.ok("problem" in hidden && /login name \(mail\) holds an invisible or formatting character \(U\+2060\)/.test(hidden.problem));

  const group = (cn: string) => new EntryValues({ dn: `cn=${cn},dc=corp,dc=example`, entryUUID: `uuid-of-${cn}`, cn });
  assert.ok("group" in mapGroup(group("administrators"), d));
  // With its uniqueId and the rest of the entry: a group imported before keeps its name and follows the rest (directory/sync.ts).
  const dn = "cn=administrators\u200b,dc=corp,dc=example";
  assert.deepEqual(mapGroup(group("administrators\u200b"), d), {
    problem: "The group's name (cn) holds an invisible or formatting character (U+200B), which would let it pass for another name.",
    rest: { key: "uuid-of-administrators\u200b", dn, dnKey: dn, description: null },
  });
});

it("leaves out, as a problem of that entry, a group whose name the group API refuses: a / (its path would be another), as typed or once normalized", () => {
  const group = (cn: string) => new EntryValues({ dn: `cn=${cn},dc=corp,dc=example`, entryUUID: `uuid-of-${cn}`, cn });
  assert.ok("group" in mapGroup(group("R&D – Zürich"), d));
  for (const [cn, stored] of [["R&D/Ops – Zürich", "R&D/Ops – Zürich"], ["R&D\uff0fOps", "R&D/Ops"]]) {
    const mapped = mapGroup(group(cn!), d);
    assert.ok("problem" in mapped);
    assert.equal(mapped.problem, `The group's name "${stored}" (cn) is not valid here: a group's name must not hold / or control characters, nor start or end with white space.`);
    assert.equal(mapped.rest?.key, `uuid-of-${cn}`.toLowerCase());
  }
});

it("gives back the bytes of an objectGUID key, to look its entry up by (the first three groups little-endian)", () => {
  const ad = { attributeMapping: VENDOR_DEFAULTS.ACTIVE_DIRECTORY.attributeMapping };
  const guid = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  const mapped = mapUser(new EntryValues({ dn: "CN=x,DC=corp", objectGUID: guid, sAMAccountName: "x" }), ad);
  assert.equal(mapped.key, "33221100-5544-7766-8899-aabbccddeeff");
  assert.deepEqual(keyBytes(ad, mapped.key!), guid);
  assert.equal(keyBytes(d, "4c071720-85fe-1041-9a86-ffd672b7cb45"), null, "entryUUID is text");
});

it("asks for each attribute once, objectSid as uniqueId of Active Directory too, and for a user's primaryGroupID there", () => {
  const ad = { vendor: "ACTIVE_DIRECTORY" as const, attributeMapping: { ...VENDOR_DEFAULTS.ACTIVE_DIRECTORY.attributeMapping, uniqueId: "objectSid" } };
  for (const list of [groupAttributes(ad), groupBinaryAttributes(ad), userAttributes(ad)]) assert.equal(new Set(list.map((a) => a.toLowerCase())).size, list.length, list.join(", "));
  assert.deepEqual(groupBinaryAttributes(ad), ["objectSid"]);
  assert.ok(userAttributes(ad).includes("primaryGroupID"));
  assert.ok(!userAttributes({ vendor: "OTHER", attributeMapping: VENDOR_DEFAULTS.OTHER.attributeMapping }).includes("primaryGroupID"));
  const user = mapUser(new EntryValues({ dn: "CN=x,DC=corp", objectSid: Buffer.alloc(28, 1), sAMAccountName: "x", primaryGroupID: "513" }), ad);
  assert.ok("user" in user && user.user.primaryGroup === 513);
});

it("reads an entry's values by name whatever its case: one value or several, text or bytes, none for an attribute absent or answered empty", () => {
  const bytes = Buffer.from([0xff, 0x01]);
  const values = new EntryValues({ dn: "uid=a,dc=corp", UID: "  a  ", member: ["uid=b,dc=corp", "uid=c,dc=corp"], objectGUID: bytes, mail: [], "member;range=0-1": ["x", "y"] });
  assert.deepEqual(values.all("uid"), ["  a  "]);
  assert.equal(values.text("Uid"), "a");
  assert.deepEqual(values.all("MEMBER"), ["uid=b,dc=corp", "uid=c,dc=corp"]);
  assert.equal(values.text("member"), "uid=b,dc=corp", "the first of several");
  assert.deepEqual(values.all("objectguid"), [bytes]);
  assert.deepEqual(values.all("mail"), []);
  assert.equal(values.text("mail"), null);
  assert.deepEqual(values.all("sn"), []);
  assert.equal(values.text("sn"), null);
  assert.deepEqual(values.names(), ["uid", "member", "objectguid", "mail", "member;range=0-1"], "the dn is no attribute; one answered empty is listed");
});
