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

// validateJsonMembers records the top-level member spans into a kept buffer copied out once;
// they must be what a walk of the validated object finds, with validateJson's messages.
/** UTF-16 code units as WTF-8: a surrogate pair is one 4-byte character, a lone surrogate 3 bytes (String.UTF8.encode's default). */
function wtf8(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff);
      i++;
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    } else if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Buffer.from(out);
}

describe("rawStringBytes: a JSON string straight to UTF-8", () => {
  // Pieces a literal is made of: raw text (ASCII, 2-, 3- and 4-byte UTF-8) and every escape,
  // \u escapes of pairs, of lone surrogates and of a high surrogate before a raw character.
  const PIECES = ["a", "plain text ", "é", "中", "😀", '\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9", "\\u4e2d", "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\uD83D\\uDE00", "x".repeat(20)];
  it("gives the bytes of the decoded text (WTF-8 for lone surrogates), as the text path did, on 3,000 generated literals", () => {
    const r = rng(11);
    for (let n = 0; n < 3000; n++) {
      const literal = `"${Array.from({ length: Math.floor(r() * 12) }, () => PIECES[Math.floor(r() * PIECES.length)]).join("")}"`;
      putInput(x, enc.encode(literal));
      expect(x.stringBytes(), literal).toBe(1);
      expect(Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr(), x.outputLen())).equals(wtf8(JSON.parse(literal) as string)), literal).toBe(true);
    }
  });
});

describe("validateJsonMembers agrees with validateJson and RawObjectIter", () => {
  function both(doc: string): { got: string; want: string } {
    putInput(x, enc.encode(doc));
    x.members(64);
    const got = outputText(x);
    x.membersRef(64);
    return { got, want: outputText(x) };
  }

  it("on 2,000 generated objects of up to 60 members (past the kept buffer's first size), spaced or compact", () => {
    const r = rng(17);
    for (let n = 0; n < 2000; n++) {
      const count = Math.floor(r() * (r() < 0.2 ? 60 : 6));
      const names = Array.from({ length: count }, (_, i) => (r() < 0.2 ? "a" : r() < 0.1 ? "k\\u00e9" : `m${i}`));
      const sp = r() < 0.5 ? " \n\t" : "";
      const doc = `${sp}{${sp}${names.map((k) => `"${k}"${sp}:${sp}${value(r, 0)}${sp}`).join(`,${sp}`)}}${sp}`;
      const { got, want } = both(doc);
      expect(want.startsWith("ok:"), doc).toBe(true);
      expect(got, doc).toBe(want);
    }
  });

  it("after a long document, a short one holds only its own spans; non-objects hold none", () => {
    const long = `{${Array.from({ length: 100 }, (_, i) => `"k${i}":[${i},{"x":${i}}]`).join(",")}}`;
    expect(both(long).got).toBe(both(long).want);
    expect(both('{"a":1}').got).toBe("ok:1,4,5,6");
    for (const doc of ["[1,2]", '"s"', "3", "null", "{}", " { } ", '[{"a":1}]']) {
      const { got, want } = both(doc);
      expect(got, doc).toBe(want);
      expect(got, doc).toBe("ok:");
    }
  });

  it("gives validateJson's message on invalid documents", () => {
    const bad = ['{"a":1,}', '{"a" 1}', '{"a":1', '{"a":"x\\q"}', '{"a":[1,]}', "{a:1}", '{"a":1}}', '{"a":1} x', '{"a":"\u0001"}', "", "  ", '{"a":01}', '{"a":tru}', '{"a":{"b":[}]}'];
    const r = rng(5);
    for (let n = 0; n < 300; n++) {
      const doc = `{${Array.from({ length: 1 + Math.floor(r() * 20) }, (_, i) => `"k${i}":${value(r, 0)}`).join(",")}}`;
      const cut = Math.floor(r() * doc.length);
      bad.push(doc.slice(0, cut), doc.slice(0, cut) + "," + doc.slice(cut));
    }
    for (const doc of bad) {
      const { got, want } = both(doc);
      expect(got, doc).toBe(want);
    }
  });
});

// readOpenAiUsageRaw walks with lib/json/raw's nextMemberAt (state in globals): reading the same
// usage twice, after another buffer, must give what json-as's readOpenAiUsage gives.
describe("readOpenAiUsageRaw agrees with readOpenAiUsage", () => {
  it.each([
    '{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}',
    '{"usage":{"prompt_tokens":3,"completion_tokens":4}}',
    '{"usage":{"total_tokens":12}}',
    '{"usage":{"prompt_tokens":3,"prompt_tokens":5}}',
    '{"usage":{"prompt_tokens":-1,"completion_tokens":1e12,"total_tokens":"7"}}',
    '{"usage":{"prompt_tokens":2.5,"completion_tokens":null}}',
    '{"usage":{ "prompt_tokens" : 10 , "x":{"total_tokens":1}, "completion_tokens" : 2 }}',
    '{"usage":{}}',
    '{"usage":[1,2]}',
    '{"usage":null}',
    '{"model":"m"}',
    '{"usage":{"prompt_tokens":3},"usage":{"completion_tokens":4}}',
    '{"usage": {\n  "prompt_tokens": 1.5e3,\n  "completion_tokens": 1234567890123456789,\n  "total_tokens": -0\n} }',
    '{"usage":{"prompt\\u005ftokens":3,"completion_tokens":{"total_tokens":5},"total_tokens":[1]}}',
    '{"usage":{"prompt_tokens":true,"completion_tokens":"4","total_tokens":false}}',
  ])("%s", (doc) => {
    putInput(x, enc.encode(doc));
    expect(x.usageParsed()).toBe(1);
    const want = outputText(x);
    x.usageRaw();
    expect(outputText(x)).toBe(want);
  });
});
