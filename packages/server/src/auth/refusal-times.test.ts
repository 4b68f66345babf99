import assert from "node:assert/strict";
import { it } from "node:test";
import { RefusalTimes } from "./login.js";

it("a refusal that checked no hash is held as long as one of the latest that did, picked at random: their spread, not their mean", () => {
  const times = new RefusalTimes(4);
  assert.equal(times.pick(), 0, "none yet");
  // A skewed spread: mostly quick, one slow (a queue, a busy moment). Its mean (47.5) is none of them.
  for (const ms of [20, 20, 20, 130]) times.record(ms);
  const picked = new Map<number, number>();
  for (let i = 0; i < 4000; i++) {
    const ms = times.pick();
    picked.set(ms, (picked.get(ms) ?? 0) + 1);
  }
  assert.deepEqual([...picked.keys()].sort((a, b) => a - b), [20, 130]);
  assert.ok(picked.get(20)! > 2 * picked.get(130)!, `20 picked ${picked.get(20)}, 130 picked ${picked.get(130)}`);
  // Only the latest are kept: the oldest give way.
  for (const ms of [21, 22, 23, 24]) times.record(ms);
  assert.equal(times.size, 4);
  const latest = new Set(Array.from({ length: 400 }, () => times.pick()));
  assert.deepEqual([...latest].sort(), [21, 22, 23, 24]);
});
