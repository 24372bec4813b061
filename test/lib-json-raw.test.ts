// lib/json/raw (the byte-level reads ai-proxy uses on validated bodies) must read what json-as
// reads: same strings after unescaping, same numbers, same kinds, last duplicate key wins.
// Compared through test/filters/json-check on generated documents.
import { beforeAll, describe, expect, it } from "vitest";
import { compileJsonCheck, instantiateJsonCheck, outputText, putInput, type JsonCheck } from "./support/json-check.ts";

let x: JsonCheck;
beforeAll(() => {
  x = instantiateJsonCheck(compileJsonCheck());
}, 120_000);

const enc = new TextEncoder();
function read(fn: "fieldTypes" | "rawField", key: string, doc: string): { ok: number; out: string } {
  putInput(x, enc.encode(key + doc));
  const ok = x[fn](enc.encode(key).length);
  return { ok, out: outputText(x) };
}

// A seeded generator of JSON values and documents.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const STRINGS = ["", "plain", 'quote " inside', "back\\slash", "line\nbreak", "tab\t", "é ü ñ", "emoji 😀", "\u0001ctl", "/slash", "\u2028sep"];
const NUMBERS = ["0", "-0", "7", "-12", "3.25", "1e3", "2.5E-3", "-1.125e+2", "123456789012", "0.1"];
function value(r: () => number, depth: number): string {
  const k = Math.floor(r() * (depth > 2 ? 6 : 8));
  if (k === 0) return JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]);
  if (k === 1) return NUMBERS[Math.floor(r() * NUMBERS.length)]!;
  if (k === 2) return r() < 0.5 ? "true" : "false";
  if (k === 3) return "null";
  if (k === 4) return JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]).replace(/[é😀]/gu, (c) => `\\u${c.codePointAt(0)! > 0xffff ? "d83d\\ude00" : c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (k === 5) return `"${"x".repeat(Math.floor(r() * 40))}\\u00e9"`;
  if (k === 6) return `[${Array.from({ length: Math.floor(r() * 3) }, () => value(r, depth + 1)).join(",")}]`;
  return `{${Array.from({ length: Math.floor(r() * 3) }, (_, i) => `"k${i}": ${value(r, depth + 1)}`).join(", ")}}`;
}

const norm = (s: string) => s.replace(/^array:\d+$/, "array");

describe("lib/json/raw agrees with json-as", () => {
  it("on 2,000 generated documents, every key, duplicates included", () => {
    const r = rng(42);
    let compared = 0;
    for (let n = 0; n < 2000; n++) {
      const keys = ["a", "b", "c", "model", "a"].slice(0, 1 + Math.floor(r() * 5));
      const doc = `{ ${keys.map((k) => `"${k}" : ${value(r, 0)}`).join(" ,\n ")} }`;
      for (const key of ["a", "b", "c", "model", "missing"]) {
        const want = read("fieldTypes", key, doc);
        const got = read("rawField", key, doc);
        expect(want.ok, doc).toBe(1);
        expect(got.ok, doc).toBe(1);
        expect(norm(got.out), `${key} in ${doc}`).toBe(norm(want.out));
        compared++;
      }
    }
    expect(compared).toBe(10_000);
  });

  it("reads integers of 1 to 18 digits as json-as does (rawNumber reads up to 15 digits without parsing text)", () => {
    const r = rng(7);
    for (let n = 0; n < 3000; n++) {
      const digits = 1 + Math.floor(r() * 18);
      let d = String(1 + Math.floor(r() * 9));
      while (d.length < digits) d += String(Math.floor(r() * 10));
      if (r() < 0.1) d = "0";
      const doc = `{"a":${r() < 0.3 ? "-" : ""}${d}}`;
      const want = read("fieldTypes", "a", doc);
      const got = read("rawField", "a", doc);
      expect(got.out, doc).toBe(want.out.split("|")[0]);
    }
  });

  it("refuses what the validator refuses, before reading", () => {
    expect(read("rawField", "a", '{"a": "unterminated}').ok).toBe(0);
    expect(read("rawField", "a", '{"a": 01}').ok).toBe(0);
  });
});
