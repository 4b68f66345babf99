import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ScratchLedger } from "./scratch-ledger.js";

describe("scratch ledger", () => {
  it("keeps the last value of a key, finds keys by any of their lookups, and reads more keys than a statement binds", () => {
    const ledger = new ScratchLedger();
    try {
      ledger.put([{ key: "ann", value: "1", via: ["login|ann", "skeleton|ann"] }]);
      ledger.put([{ key: "ann", value: "2", via: ["login|anna"] }, { key: "ben", value: "3", via: ["login|ann"] }]);
      assert.deepEqual([...ledger.get(["ann", "ben", "cid"])].sort(), [["ann", "2"], ["ben", "3"]]);
      assert.deepEqual(ledger.keysVia(["login|ann"]).sort(), ["ann", "ben"]);
      assert.deepEqual(ledger.keysVia(["login|anna", "skeleton|nobody"]), ["ann"]);
      const many = Array.from({ length: 40_000 }, (_, i) => `k${i}`);
      ledger.put(many.map((key) => ({ key, value: key, via: [`v|${key}`] })));
      assert.equal(ledger.get(many).size, 40_000);
      assert.equal(ledger.keysVia(many.map((k) => `v|${k}`)).length, 40_000);
    } finally {
      ledger.close();
    }
  });
});
