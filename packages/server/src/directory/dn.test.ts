import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { dnKey } from "./dn.js";

it("gives both spellings of a DN one key: case, spaces beside separators, escapes, multi-valued RDNs", () => {
  assert.equal(dnKey("uid=JDoe,ou=People,dc=Corp,dc=Example"), "uid=jdoe,ou=people,dc=corp,dc=example");
  assert.equal(dnKey("CN=John Smith, OU=Sales ,DC=corp"), "cn=john smith,ou=sales,dc=corp");
  assert.equal(dnKey("cn=Smith\\, John,dc=corp"), dnKey("cn=Smith\\2C John,dc=corp"));
  assert.equal(dnKey("cn=J\\C3\\BCrgen,dc=corp"), "cn=jürgen,dc=corp");
  assert.equal(dnKey("uid=a+cn=B,dc=corp"), dnKey("cn=b + uid=a,dc=corp"));
  assert.equal(dnKey("uid=a;dc=corp"), "uid=a,dc=corp");
});

it("keys a plain DN (nothing to unescape, split or trim) by its lower case, as the full walk does", () => {
  // The walk, for DNs the fast path takes: each RDN's type=value trimmed at its ends, joined as it came.
  const walked = (dn: string) => dn.split(",").map((ava) => { const eq = ava.indexOf("="); return eq < 0 ? ava.trim() : `${ava.slice(0, eq).trim()}=${ava.slice(eq + 1).trim()}`; }).join(",").toLowerCase();
  const part = fc.string({ unit: fc.constantFrom("a", "B", "é", " ", "=", ",", "-", "1", "\"", "<"), maxLength: 12 });
  fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
    const dn = parts.join(",");
    assert.equal(dnKey(dn), walked(dn));
  }), { numRuns: 2000 });
});
