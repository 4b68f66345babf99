import assert from "node:assert/strict";
import { it, mock } from "node:test";
import { oncePerAddress } from "./warn-once.js";

it("says a warning once per address, for at most 16 addresses an hour, and counts afresh the next hour", () => {
  mock.timers.enable({ apis: ["Date"], now: 0 });
  try {
    const warnNow = oncePerAddress();
    assert.equal(warnNow("10.0.0.1"), true);
    assert.equal(warnNow("10.0.0.1"), false, "said once");
    for (let i = 2; i <= 16; i++) assert.equal(warnNow(`10.0.0.${i}`), true);
    assert.equal(warnNow("192.0.2.7"), false, "the hour's 16 addresses used up");
    mock.timers.tick(3_600_000);
    // Addresses someone used up do not silence a later, real cause.
    assert.equal(warnNow("192.0.2.7"), true);
    assert.equal(warnNow("10.0.0.1"), true);
  } finally {
    mock.timers.reset();
  }
});
