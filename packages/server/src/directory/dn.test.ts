import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { dnKey, walkedKey } from "./dn.js";

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
