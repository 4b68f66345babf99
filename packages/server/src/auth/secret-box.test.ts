import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadSecretBox, SecretBox } from "./secret-box.js";

describe("secret box", () => {
  it("opens what it sealed, and every seal differs", () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal("bind pässword");
    assert.notEqual(a, box.seal("bind pässword"));
    assert.ok(!a.includes("bind"));
    assert.equal(box.open(a), "bind pässword");
  });

  it("refuses a value sealed with another key, and a tampered one", () => {
    const sealed = new SecretBox(randomBytes(32)).seal("x");
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed), /another key/);
    const box = new SecretBox(randomBytes(32));
    const good = box.seal("secret");
    const tampered = good.slice(0, -2) + (good.endsWith("A") ? "BB" : "AA");
    assert.throws(() => box.open(tampered));
  });

  it("makes a key file of mode 0600 on first use and reads the same key later", () => {
    const dir = mkdtempSync(join(tmpdir(), "ecm-secret-"));
    try {
      const file = join(dir, "sub", "secret.key");
      const sealed = loadSecretBox({ file }).seal("kept");
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(loadSecretBox({ file }).open(sealed), "kept");
      // A node that made its own key, as it was given none, says so when the store's secrets are another's.
      const made = loadSecretBox({ file: join(dir, "other", "secret.key") });
      assert.throws(() => made.open(sealed), /this server has key \S+ made at this start in .*other\/secret\.key, as neither ECM_SECRET_KEY nor that file was there: give every node the same ECM_SECRET_KEY\.$/);
      assert.throws(() => loadSecretBox({ key: randomBytes(32).toString("base64"), file }).open(sealed), /this server has key \S+ from ECM_SECRET_KEY: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes a configured key over the file", () => {
    const key = randomBytes(32).toString("base64");
    const sealed = loadSecretBox({ key, file: "/nonexistent/never-read" }).seal("v");
    assert.equal(new SecretBox(Buffer.from(key, "base64")).open(sealed), "v");
    assert.throws(() => loadSecretBox({ key: randomBytes(16).toString("base64"), file: "/x" }), /32 bytes/);
  });
});
