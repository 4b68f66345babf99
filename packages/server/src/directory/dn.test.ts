import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { dnKey, isDn, isWithin, walkedKey } from "./dn.js";

it("gives both spellings of a DN one key: case, spaces beside separators, escapes, multi-valued RDNs", () => {
  assert.equal(dnKey("uid=JDoe,ou=People,dc=Corp,dc=Example"), "uid=jdoe,ou=people,dc=corp,dc=example");
  assert.equal(dnKey("CN=John Smith, OU=Sales ,DC=corp"), "cn=john smith,ou=sales,dc=corp");
  assert.equal(dnKey("cn=Smith\\, John,dc=corp"), dnKey("cn=Smith\\2C John,dc=corp"));
  assert.equal(dnKey("cn=J\\C3\\BCrgen,dc=corp"), "cn=jürgen,dc=corp");
  assert.equal(dnKey("uid=a+cn=B,dc=corp"), dnKey("cn=b + uid=a,dc=corp"));
  assert.equal(dnKey("uid=a;dc=corp"), "uid=a,dc=corp");
});

it("keys a plain DN by its lower case only where the walk gives the same key", () => {
  const unit = fc.constantFrom("a", "B", "é", " ", "\t", "\u00a0", "=", ",", "+", ";", "#", "\\", "2", "C", "-", '"', "<");
  fc.assert(fc.property(fc.string({ unit, maxLength: 24 }), (dn) => assert.equal(dnKey(dn), walkedKey(dn))), { numRuns: 5000 });
});

it("takes a DN whose escapes are whole, and refuses one with a dangling or unknown escape", () => {
  for (const dn of ["dc=example,dc=org", "cn=Smith\\, John,dc=corp", "cn=J\\C3\\BCrgen,dc=corp", "cn=a\\+b\\\\c\\=d\\ ,dc=corp", "cn=\\#1,dc=corp", "2.5.4.3=x"]) assert.equal(isDn(dn), true, dn);
  for (const dn of ["dc=ex\\", "cn=a\\qb,dc=corp", "cn=a\\C,dc=corp", "not a dn", "dc=example,dc=org,", ""]) assert.equal(isDn(dn), false, dn);
});

it("tells whether a DN is a base or under it, whichever way either is spelled", () => {
  for (const [dn, base] of [["ou=People,dc=corp", "dc=corp"], ["OU=People, DC=Corp", "dc=corp"], ["dc=corp", "DC=Corp"], ["cn=a\\\\,dc=corp", "dc=corp"], ["uid=a+cn=b,dc=corp", "cn=B + uid=a,dc=corp"]] as const) assert.equal(isWithin(dn, base), true, `${dn} in ${base}`);
  // An escaped comma is part of a value, not a separator: `cn=a\,dc=corp` is one RDN, under no base.
  for (const [dn, base] of [["ou=People,dc=other", "dc=corp"], ["dc=corp", "ou=People,dc=corp"], ["cn=a\\,dc=corp", "dc=corp"], ["cn=a\\2Cdc=corp", "dc=corp"], ["dc=xcorp", "dc=corp"]] as const) assert.equal(isWithin(dn, base), false, `${dn} in ${base}`);
});
