import assert from "node:assert/strict";
import { it } from "node:test";
import { InsufficientAccessError, ResultCodeError, SizeLimitExceededError } from "ldapts";
import { resultInWords } from "./ldap.js";

it("says a directory's refusal in words, with its own diagnostic when it sent one", () => {
  // slapd sends no diagnostic with a size limit: ldapts's text is then only "Code: 0x4".
  assert.equal(
    resultInWords(new SizeLimitExceededError("")),
    "the directory stopped the search at its size limit: let the service account read more entries (OpenLDAP: limits … size.prtotal=unlimited; Active Directory: MaxPageSize) or narrow the user filter (LDAP result 4).",
  );
  assert.match(resultInWords(new InsufficientAccessError("no read access to ou=people")), /^the service account may not read this: .* \(LDAP result 50: no read access to ou=people\)\.$/);
  assert.equal(resultInWords(new ResultCodeError(80, "")), "the directory refused the operation (LDAP result 80)");
});
