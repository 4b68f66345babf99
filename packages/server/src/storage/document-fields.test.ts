import assert from "node:assert/strict";
import { it } from "node:test";
import { DocumentFields, EXTENDED_FIELDS, PLAIN_FIELDS, type UserField, type UserShape } from "./document-fields.js";

/** Users as the kept documents show them (every field, in order), with values that look like keys, quotes, nesting and non-ASCII text. */
const USERS = [
  {
    id: "a010279b-ae66-4c1d-b066-c45d50c9f75a", username: "sysadmin", firstName: 'say ,"displayName":"x"', lastName: null, email: "sysadmin@example.com", dn: null,
    description: 'a "quoted" \\ back,"slash":', enabled: true, builtin: true, federatedIdentities: null, numericId: 1, loginName: "sysadmin", displayName: "Built-in", profileId: -1,
    groups: ["administrators", ',"validFrom":', "users"], validFrom: null, validTo: null, source: { type: "builtin", id: null, name: null }, expired: false,
    lockedOutUntil: null, changePassword: false, passwordNeverExpires: true, serviceAccount: false,
  },
  {
    id: "82576381-e765-4645-a697-782111f8f5b5", username: "zoë", firstName: "Ζωή", lastName: "Müller", email: null, dn: "cn=Zoë,dc=example", description: null,
    enabled: false, builtin: false, federatedIdentities: [{ alias: "a", displayName: "IdP ✓" }, { alias: "b", displayName: '{"id":"' }], numericId: 22, loginName: "zoe",
    displayName: "Zoë Müller", profileId: 7, groups: [], validFrom: "2024-01-01T00:00:00.000Z", validTo: "2030-01-01T00:00:00.000Z",
    source: { type: "identity-provider", id: "a", name: '"A" ,"expired":true' }, expired: false, lockedOutUntil: "2026-12-02T20:00:00.000Z", changePassword: true, passwordNeverExpires: false, serviceAccount: true,
  },
];

/** Each user's document in the plain or the extended view. */
function eachDocument(extended: boolean): string[] {
  const view: readonly string[] = extended ? [...PLAIN_FIELDS, ...EXTENDED_FIELDS] : PLAIN_FIELDS;
  return USERS.map((u) => JSON.stringify(Object.fromEntries(view.map((k) => [k, u[k as keyof typeof u]]))));
}
const documents = (extended: boolean) => eachDocument(extended).join(",");

/** The chosen fields of each user, as an object or as the array of their values, in the view's order. */
function picked(names: readonly string[], extended: boolean, shape: UserShape = "objects"): unknown[] {
  return (JSON.parse(`[${documents(extended)}]`) as Record<string, unknown>[]).map((u) => {
    const entries = Object.keys(u).filter((k) => names.includes(k)).map((k) => [k, u[k]] as const);
    return shape === "arrays" ? entries.map(([, v]) => v) : Object.fromEntries(entries);
  });
}

async function cutBody(fields: DocumentFields, pieces: (string | Buffer)[]): Promise<unknown> {
  async function* body() {
    yield* pieces;
  }
  const out: Buffer[] = [];
  for await (const piece of fields.ofBody(body())) out.push(typeof piece === "string" ? Buffer.from(piece) : piece);
  return JSON.parse(`[${Buffer.concat(out).toString("utf8")}]`);
}

const CHOICES: [name: string, fields: UserField[], extended: boolean][] = [
  ["the SDK's plain fields", ["id", "username", "email", "enabled", "numericId", "loginName", "displayName", "profileId"], false],
  ["the SDK's extended fields", ["id", "username", "email", "description", "enabled", "numericId", "loginName", "displayName", "profileId", "groups", "validFrom", "validTo", "lockedOutUntil"], true],
  ["a field after the nested objects", ["displayName", "expired", "serviceAccount"], true],
  ["every field", [...PLAIN_FIELDS, ...EXTENDED_FIELDS], true],
];

for (const [name, fields, extended] of CHOICES) for (const shape of ["objects", "arrays"] as const) {
  it(`cuts ${name} out of documents split anywhere, inside a character too, as ${shape}`, async () => {
    const bytes = Buffer.from(documents(extended));
    const expected = picked(fields, extended, shape);
    const cutter = new DocumentFields(fields, extended, shape);
    assert.deepEqual(JSON.parse(`[${cutter.ofDocuments(bytes.toString("utf8"))}]`), expected);
    // Split at every byte (inside a character too), and in three pieces with a lone comma between documents.
    // Copies: the cut rewrites the bytes it is handed.
    for (let i = 0; i <= bytes.length; i++) assert.deepEqual(await cutBody(cutter, [Buffer.from(bytes.subarray(0, i)), Buffer.from(bytes.subarray(i))]), expected, `split at ${i}`);
    // Text split at every character, as SQLite's lists hand it over.
    const text = documents(extended);
    for (let i = 0; i <= text.length; i++) assert.deepEqual(await cutBody(cutter, [text.slice(0, i), text.slice(i)]), expected, `text split at ${i}`);
    const [first, second] = eachDocument(extended);
    assert.deepEqual(await cutBody(cutter, [first!, ",", second!]), expected);
  });
}

for (const shape of ["objects", "arrays"] as const) it(`cuts pieces of bytes longer than what it searches at a time, as ${shape}`, async () => {
  // Several hundred KiB in one piece (as a SQLite batch comes), then the same split in two anywhere.
  const [fields, extended] = [CHOICES[1]![1], CHOICES[1]![2]];
  const cutter = new DocumentFields(fields, extended, shape);
  const many = Array.from({ length: 1500 }, () => documents(extended)).join(",");
  const expected = Array.from({ length: 1500 }, () => picked(fields, extended, shape)).flat();
  assert.deepEqual(await cutBody(cutter, [Buffer.from(many)]), expected);
  const bytes = Buffer.from(many);
  for (const at of [1, 70_000, 200_001, bytes.length - 3]) {
    assert.deepEqual(await cutBody(cutter, [Buffer.from(bytes.subarray(0, at)), Buffer.from(bytes.subarray(at))]), expected, `split at ${at}`);
  }
});

it("refuses a body that ends inside a document", async () => {
  const cutter = new DocumentFields(["username"], false);
  const text = documents(false);
  await assert.rejects(cutBody(cutter, [text.slice(0, text.length - 5)]), /not complete/);
});
