import assert from "node:assert/strict";
import { it } from "node:test";
import tls from "node:tls";
import { InsufficientAccessError, SizeLimitExceededError, UnknownStatusCodeError } from "ldapts";
import type { Directory } from "./config.js";
import { filterForLdapts, resultInWords, tlsOptionsOf } from "./ldap.js";

it("says a directory's refusal in words, with its own diagnostic when it sent one", () => {
  // slapd sends no diagnostic with a size limit: ldapts's text is then only "Code: 0x4".
  assert.equal(
    resultInWords(new SizeLimitExceededError("")),
    "the directory stopped the search at its size limit: let the service account read more entries (OpenLDAP: limits … size.prtotal=unlimited; Active Directory: MaxPageSize) or narrow the user filter (LDAP result 4).",
  );
  assert.match(resultInWords(new InsufficientAccessError("no read access to ou=people")), /^the service account may not read this: .* \(LDAP result 50: no read access to ou=people\)\.$/);
  assert.equal(resultInWords(new UnknownStatusCodeError(80, "")), "the directory refused the operation (LDAP result 80)");
});

it("makes the TLS context of a directory's CA once, not at every connection (it parses every root certificate)", () => {
  const directory = { caCertificate: tls.rootCertificates[0]! } as Directory;
  const [first, second] = [tlsOptionsOf(directory, new URL("ldaps://dc1.example")), tlsOptionsOf(directory, new URL("ldap://dc2.example"))];
  assert.ok(first.secureContext);
  assert.equal(second.secureContext, first.secureContext);
  assert.deepEqual([first.servername, second.servername], ["dc1.example", "dc2.example"]);
  const other = tlsOptionsOf({ caCertificate: tls.rootCertificates[1]! } as Directory, new URL("ldaps://dc1.example"));
  assert.notEqual(other.secureContext, first.secureContext);
  assert.equal(tlsOptionsOf({ caCertificate: null } as Directory, new URL("ldaps://dc1.example")).secureContext, undefined);
});

it("writes the escaped UTF-8 of a filter as its characters for ldapts, and leaves every other escape as it is", () => {
  assert.equal(filterForLdapts("(sn=M\\c3\\bcller)"), "(sn=Müller)");
  assert.equal(filterForLdapts("(cn=\\E6\\97\\A5\\e6\\9c\\ac)"), "(cn=日本)");
  // ASCII escapes (which ldapts reads right), a backslash before the run, and bytes that are not UTF-8 (a binary GUID's).
  assert.equal(filterForLdapts("(cn=a\\2a\\28b\\29)"), "(cn=a\\2a\\28b\\29)");
  assert.equal(filterForLdapts("(cn=x\\5c\\c3\\bc)"), "(cn=x\\5cü)");
  assert.equal(filterForLdapts("(objectGUID=\\a1\\b2\\c3)"), "(objectGUID=\\a1\\b2\\c3)");
});
