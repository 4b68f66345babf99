import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLinkHeader, restUserFields, rowToECMUser, toECMGroup, toECMRole, toECMUser, toRestUserBody, isGuid } from "../mapping.js";
import { EXTENDED_FIELDS, PLAIN_FIELDS } from "../../../server/src/storage/document-fields.js";
import {
  ECMAuthError,
  ECMConflictError,
  ECMError,
  ECMNotFoundError,
  ECMPermissionError,
  ECMPreconditionError,
  ECMServerError,
  ECMUnavailableError,
  ECMValidationError,
  ECMTooManyRequestsError,
  deserializeError,
  errorFromResponse,
  parseErrorMessage,
  parseRetryAfter,
  serializeError,
} from "../errors.js";
import { backoffDelay, normalizeBaseUrl } from "../http.js";
import type { RestUser } from "../types.js";

const rest: RestUser = {
  id: "82576381-e765-4645-a697-782111f8f5b5",
  numericId: 7,
  username: "user_1",
  loginName: "User_1",
  firstName: "1",
  lastName: "user",
  displayName: "1 user",
  email: null,
  dn: null,
  description: "description user_1",
  enabled: false,
  builtin: false,
  federatedIdentities: [{ alias: "dummy_alias", displayName: "DUMMY DISPLAY NAME" }],
  profileId: -1,
  groups: ["users", "staff"],
  validFrom: "2024-01-02T03:04:05.000Z",
  validTo: null,
};

test("toECMUser without extendedInfo: seed fields, extended ones empty/null", () => {
  const u = toECMUser(rest, false);
  assert.deepEqual(u, {
    id: 7,
    username: "user_1",
    loginName: "User_1",
    displayName: "1 user",
    email: "",
    guid: "82576381-e765-4645-a697-782111f8f5b5",
    profileId: -1,
    locked: true,
    remark: "",
    validFrom: null,
    validTo: null,
    groups: [],
    lockedOut: false,
    lockedOutUntil: null,
    serviceAccount: false,
  });
});

test("the list's fields are named in the server's view order, the order of the values in a shape=arrays row", () => {
  const view: readonly string[] = [...PLAIN_FIELDS, ...EXTENDED_FIELDS];
  for (const extended of [false, true]) {
    const names = restUserFields(extended).split(",");
    assert.deepEqual(names, view.filter((f) => names.includes(f)));
  }
  // A row holds those values in that order.
  const row = restUserFields(true).split(",").map((f) => (rest as unknown as Record<string, unknown>)[f]);
  const u = rowToECMUser(row, true);
  assert.deepEqual([u.id, u.username, u.loginName, u.guid, u.remark, u.locked, u.groups, u.validFrom?.toISOString()], [7, "user_1", "User_1", rest.id, "description user_1", true, ["users", "staff"], "2024-01-02T03:04:05.000Z"]);
});

test("an extended user's groups are its own list, also when empty; a plain list's users share one frozen empty list", () => {
  const [a, b] = [toECMUser({ ...rest, groups: [] }, true), toECMUser({ ...rest, groups: [] }, true)];
  a.groups.push("staff");
  assert.deepEqual([a.groups, b.groups], [["staff"], []]);
  const [c, d] = [toECMUser(rest, false), toECMUser(rest, false)];
  assert.ok(c.groups === d.groups && Object.isFrozen(c.groups));
});

test("toECMUser with extendedInfo populates remark, validity and groups", () => {
  const u = toECMUser(rest, true);
  assert.equal(u.remark, "description user_1");
  assert.ok(u.validFrom instanceof Date);
  assert.equal(u.validFrom.toISOString(), "2024-01-02T03:04:05.000Z");
  assert.equal(u.validTo, null);
  assert.deepEqual(u.groups, ["users", "staff"]);
  assert.equal(u.lockedOut, false);
  const out = toECMUser({ ...rest, lockedOutUntil: "2099-01-01T00:00:00.000Z" }, true);
  assert.equal(out.lockedOut, true);
  assert.equal(out.lockedOutUntil?.toISOString(), "2099-01-01T00:00:00.000Z");
  assert.deepEqual(Object.keys(u).sort(), [
    "displayName",
    "email",
    "groups",
    "guid",
    "id",
    "locked",
    "lockedOut",
    "lockedOutUntil",
    "loginName",
    "profileId",
    "remark",
    "serviceAccount",
    "username",
    "validFrom",
    "validTo",
  ]);
});

test("toECMGroup and toECMRole", () => {
  assert.deepEqual(
    toECMGroup({
      id: "g-uuid",
      numericId: 3,
      name: "staff",
      path: "/staff",
      dn: null,
      description: null,
      builtin: false,
      essential: false,
      external: false,
      profileUserId: -1,
    }),
    { id: 3, name: "staff", guid: "g-uuid", profileUserId: -1, description: "" },
  );
  assert.deepEqual(toECMRole({ id: "r", name: "user", description: null, builtin: true, essential: true }), {
    id: "r",
    name: "user",
    description: "",
    builtin: true,
    essential: true,
  });
});

test("toRestUserBody maps SDK names to REST names and leaves out undefined", () => {
  assert.deepEqual(
    toRestUserBody({
      loginName: "l",
      remark: "r",
      locked: true,
      validFrom: new Date("2025-01-01T00:00:00Z"),
      validTo: null,
      changePwd: true,
      neverExpire: false,
      password: "pw123456",
    }),
    {
      loginName: "l",
      description: "r",
      enabled: false,
      validFrom: "2025-01-01T00:00:00.000Z",
      validTo: null,
      changePassword: true,
      passwordNeverExpires: false,
      password: "pw123456",
    },
  );
  assert.deepEqual(toRestUserBody({}), {});
  assert.deepEqual(toRestUserBody({ serviceAccount: true }), { serviceAccount: true });
  assert.throws(() => toRestUserBody({ service_account: true } as never), /unknown user field "service_account"; use serviceAccount/);
  assert.throws(() => toRestUserBody(null as never), /^TypeError: the user's fields must be an object such as \{ email: "…" \}, not null$/);
  assert.throws(() => toRestUserBody({ validTo: new Date("nope") }), TypeError);
  assert.throws(() => toRestUserBody({ change_pwd: true } as never), /unknown user field "change_pwd"; use changePwd/);
  assert.throws(() => toRestUserBody({ enabled: false } as never), /use locked \(inverted\)/);
  assert.throws(() => toRestUserBody({ colour: "red" } as never), /^TypeError: unknown user field "colour"$/);
  assert.deepEqual(toRestUserBody({ timeout: 5, ifMatch: '"1"', remark: "r" } as never), { description: "r" });
  // JSON leaves a function or a symbol out: a user made without the remark asked for (a getter not called).
  assert.throws(() => toRestUserBody({ remark: () => "r" } as never), /^TypeError: remark is a function, not a value \(a call without its "\(\)"\?\)$/);
  assert.throws(() => toRestUserBody({ email: Symbol("e") } as never), /^TypeError: email is a symbol, not a value$/);
});

test("parseLinkHeader finds rel=next among several links", () => {
  assert.equal(parseLinkHeader('</portal/security/v1/users?max=2&cursor=abc>; rel="next"'), "/portal/security/v1/users?max=2&cursor=abc");
  assert.equal(
    parseLinkHeader('<https://h/x?a=1,2>; rel="prev", <https://h/y?cursor=Zz%3D>; rel=next; title="n"'),
    "https://h/y?cursor=Zz%3D",
  );
  assert.equal(parseLinkHeader('<a>; rel="first last"', "last"), "a");
  assert.equal(parseLinkHeader('<a>; rel="prev"'), null);
  assert.equal(parseLinkHeader(null), null);
  assert.equal(parseLinkHeader("garbage"), null);
});

test("isGuid", () => {
  assert.ok(isGuid("82576381-e765-4645-a697-782111f8f5b5"));
  assert.ok(!isGuid("staff"));
});

test("parseErrorMessage splits code and text", () => {
  assert.deepEqual(parseErrorMessage("ECMS1201-E The specified user does not exist."), {
    code: "ECMS1201",
    text: "The specified user does not exist.",
  });
  assert.deepEqual(parseErrorMessage("plain"), { code: "", text: "plain" });
});

test("errorFromResponse picks the class by status and keeps code, message, additionalInfo", () => {
  const body = JSON.stringify({ errorMessage: "ECMS1201-E The specified user does not exist.", additionalInfo: '{"id":"x"}' });
  const e = errorFromResponse(404, "Not Found", body);
  assert.ok(e instanceof ECMNotFoundError && e instanceof ECMError && e instanceof Error);
  assert.equal(e.name, "ECMNotFoundError");
  assert.equal(e.status, 404);
  assert.equal(e.code, "ECMS1201");
  assert.equal(e.serverMessage, "The specified user does not exist.");
  assert.equal(e.message, "ECMS1201-E The specified user does not exist.");
  assert.deepEqual(e.additionalInfo, { id: "x" });
  const cases: [number, typeof ECMError][] = [
    [400, ECMValidationError],
    [413, ECMValidationError],
    [414, ECMValidationError],
    [431, ECMValidationError],
    [401, ECMAuthError],
    [403, ECMPermissionError],
    [409, ECMConflictError],
    [412, ECMPreconditionError],
    [428, ECMPreconditionError],
    [429, ECMTooManyRequestsError],
    [503, ECMUnavailableError],
    [500, ECMServerError],
  ];
  for (const [status, Cls] of cases) assert.ok(errorFromResponse(status, "", "") instanceof Cls, String(status));
  const html = errorFromResponse(502, "Bad Gateway", "<html>oops</html>");
  assert.equal(html.message, "HTTP 502: <html>oops</html>");
});

test("errors survive serialization (ECMSync worker boundary)", () => {
  const limited = errorFromResponse(429, "", JSON.stringify({ errorMessage: "ECMS1401-E Too many attempts; try again later.", additionalInfo: "{}" }), "30");
  assert.ok(limited instanceof ECMTooManyRequestsError);
  assert.equal(limited.retryAfterSeconds, 30, "the server's Retry-After");
  assert.equal(deserializeError(serializeError(limited)).constructor, ECMTooManyRequestsError);
  assert.equal((deserializeError(serializeError(limited)) as ECMError).retryAfterSeconds, 30, "across ECMSync's worker");
  assert.equal(errorFromResponse(404, "", "").retryAfterSeconds, null);
  const e = errorFromResponse(409, "", JSON.stringify({ errorMessage: "ECMS1301-E taken", additionalInfo: "{}" }));
  const back = deserializeError(serializeError(e));
  assert.ok(back instanceof ECMConflictError);
  assert.equal((back as ECMConflictError).code, "ECMS1301");
  assert.equal(back.message, e.message);
  assert.ok(deserializeError(serializeError(new TypeError("bad"))) instanceof TypeError);
});

test("backoffDelay doubles, caps and jitters", () => {
  assert.equal(backoffDelay(0, 100, 1000, () => 1), 100);
  assert.equal(backoffDelay(1, 100, 1000, () => 1), 200);
  assert.equal(backoffDelay(3, 100, 1000, () => 1), 800);
  assert.equal(backoffDelay(10, 100, 1000, () => 1), 1000);
  assert.equal(backoffDelay(2, 100, 1000, () => 0), 200);
});

test("parseRetryAfter", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
  assert.equal(parseRetryAfter("soon"), null);
});

test("normalizeBaseUrl", () => {
  assert.equal(normalizeBaseUrl("http://h:8080"), "http://h:8080/portal");
  assert.equal(normalizeBaseUrl("http://h:8080/portal/"), "http://h:8080/portal");
  assert.equal(normalizeBaseUrl("https://h/x/portal"), "https://h/x/portal");
  assert.throws(() => normalizeBaseUrl("nope"), TypeError);
  assert.throws(() => normalizeBaseUrl("ftp://h"), TypeError);
});
