import assert from "node:assert/strict";
import { it } from "node:test";
import tls from "node:tls";
import { AndFilter, EqualityFilter, InsufficientAccessError, NotFilter, SizeLimitExceededError, SubstringFilter, UnknownStatusCodeError } from "ldapts";
import type { Directory } from "./config.js";
import { filterForLdapts, unsendable } from "./filters.js";
import { resultInWords, tlsOptionsOf } from "./ldap.js";

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

it("writes the escaped UTF-8 of a filter as its characters for ldapts, and leaves the other escapes of text as they are", () => {
  assert.equal(filterForLdapts("(sn=M\\c3\\bcller)"), "(sn=Müller)");
  assert.equal(filterForLdapts("(cn=\\E6\\97\\A5\\e6\\9c\\ac)"), "(cn=日本)");
  // ASCII escapes (which ldapts reads right), and a backslash before the run.
  assert.equal(filterForLdapts("(cn=a\\2a\\28b\\29)"), "(cn=a\\2a\\28b\\29)");
  assert.equal(filterForLdapts("(cn=x\\5c\\c3\\bc)"), "(cn=x\\5cü)");
});

it("sends escaped bytes that are not UTF-8 (a binary GUID's) as those bytes in an equality, and refuses them where ldapts can send only text", () => {
  const guid = filterForLdapts("(&(objectClass=user)(objectGUID=\\a1\\b2\\c3\\00x\\ff))");
  assert.ok(guid instanceof AndFilter);
  const [, equality] = guid.filters as [unknown, EqualityFilter];
  assert.ok(equality instanceof EqualityFilter);
  assert.deepEqual(equality.value, Buffer.from([0xa1, 0xb2, 0xc3, 0x00, 0x78, 0xff]));
  // UTF-8 beside them in the same value is sent as UTF-8.
  assert.deepEqual((filterForLdapts("(!(cn=é\\ff))") as NotFilter & { filter: EqualityFilter }).filter.value, Buffer.from([0xc3, 0xa9, 0xff]));
  assert.equal(unsendable("(&(objectGUID=\\a1\\ff)(cn=M\\c3\\bcller*))"), null);
  // Elsewhere ldapts sends text: a configuration may not save them; one saved before is sent as ldapts reads it, as always.
  for (const filter of ["(cn=a\\ff*)", "(uSNChanged>=\\ff)", "(cn~=\\ff)", "(cn:caseExactMatch:=\\ff)", "(|(cn=x)(!(cn=*\\ff*)))"]) {
    assert.match(unsendable(filter) ?? "", /^escaped bytes that are not UTF-8 text \(\\ff\) can be matched only by equality/, filter);
  }
  assert.equal((filterForLdapts("(cn=a\\ff*)") as SubstringFilter).initial, "a\xff");
  assert.match(unsendable("(cn=\udc80)") ?? "", /a character that is not text/);
});
