import assert from "node:assert/strict";
import { it } from "node:test";
import { orderedUuid } from "./ordered-uuid.js";

it("makes UUIDs of version 7 whose text sorts by their time, unique within a millisecond", () => {
  const at = Date.parse("2026-12-02T20:00:00Z");
  const ids = [orderedUuid(at - 1), ...Array.from({ length: 1000 }, () => orderedUuid(at)), orderedUuid(at + 1)];
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids[0]! < ids[1]! && ids.at(-2)! < ids.at(-1)!);
  assert.equal(parseInt(ids[1]!.replace("-", "").slice(0, 12), 16), at);
});
