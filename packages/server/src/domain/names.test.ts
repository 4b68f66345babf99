import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { it } from "node:test";
import unhomoglyph from "unhomoglyph";
import { confusableKey, skeleton } from "./names.js";

it("computes the skeleton the unhomoglyph package does, for every character of its table and mixed text", () => {
  const table = createRequire(import.meta.url)("unhomoglyph/data.json") as Record<string, string>;
  const reference = (text: string) => unhomoglyph(text.normalize("NFD")).normalize("NFD");
  const texts = [...Object.keys(table), "sysadmin", "ѕуѕаdmin", "rnary", "I1l|", "Ｓｙｓａｄｍｉｎ", "café", "cafe\u0301", "𝐚𝐝𝐦𝐢𝐧", "Müller-Lüdenscheidt@example.com", "", "😀x"];
  for (const text of texts) assert.equal(skeleton(text), reference(text), JSON.stringify(text));
  assert.equal(confusableKey("ѕуѕаdmin"), confusableKey("sysadmin"));
});
