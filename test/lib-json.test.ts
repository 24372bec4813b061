// lib/json through a wasm build (test/filters/json-check): the strict validator's verdicts
// and messages, agreement with JSON.parse on generated documents, and the type-checked
// readers over json-as's parse of validated input (which must never trap).
import { beforeAll, describe, expect, it } from "vitest";
import { compileJsonCheck, instantiateJsonCheck, outputText, putInput, type JsonCheck } from "./support/json-check.ts";

let mod: WebAssembly.Module;

beforeAll(() => {
  mod = compileJsonCheck();
}, 120_000);

const instance = (): JsonCheck => instantiateJsonCheck(mod);

const enc = new TextEncoder();

const put = putInput;
const out = outputText;
const bytesOf = (v: string | number[] | Uint8Array): Uint8Array => (typeof v === "string" ? enc.encode(v) : Uint8Array.from(v));

function validate(x: JsonCheck, input: string | number[] | Uint8Array, maxDepth = 64): string | null {
  put(x, bytesOf(input));
  const ok = x.validate(maxDepth);
  return ok ? null : out(x);
}

describe("validateJson: accepts RFC 8259 JSON", () => {
  const x = () => instance();
  it.each([
    "{}",
    "[]",
    "0",
    "-0",
    "-0.5e+10",
    "1E-2",
    '"a\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"',
    "true",
    "false",
    "null",
    ' \t\r\n{ "a" : [ 1 , { "b" : null } ] } \n',
    '"é 日本 😀"',
    '"\\ud800"', // a lone surrogate escape is valid grammar
  ])("%s", (doc) => {
    expect(validate(x(), doc)).toBeNull();
  });

  it("accepts nesting exactly at the limit", () => {
    const doc = "[".repeat(64) + "]".repeat(64);
    expect(validate(instance(), doc, 64)).toBeNull();
  });
});

describe("validateJson: refuses with a message naming the byte", () => {
  it.each<[string, string | number[], string]>([
    ["trailing comma in an object", '{"a":1,}', "expected a string key at byte 7, found character '}'"],
    ["trailing comma in an array", "[1,]", "unexpected character ']' at byte 3"],
    ["NaN", "NaN", "unexpected character 'N' at byte 0"],
    ["a leading zero", "01", "unexpected character '1' at byte 1"],
    ["a bare fraction point", "1.", "invalid number at byte 0"],
    ["an exponent without digits", "[1e]", "invalid number at byte 1"],
    ["a lone minus", "-", "invalid number at byte 0"],
    ["an unescaped control character", [0x22, 0x61, 0x01, 0x22], "unescaped control character at byte 2"],
    ["a raw newline in a string", '"a\nb"', "unescaped control character at byte 2"],
    ["invalid UTF-8", [0x22, 0xc3, 0x28, 0x22], "invalid UTF-8 at byte 1"],
    ["an overlong encoding", [0x22, 0xc0, 0xaf, 0x22], "invalid UTF-8 at byte 1"],
    ["an encoded surrogate", [0x22, 0xed, 0xa0, 0x80, 0x22], "invalid UTF-8 at byte 1"],
    ["a code point above U+10FFFF", [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8 at byte 1"],
    ["a truncated sequence", [0x22, 0xe2, 0x82], "invalid UTF-8 at byte 1"],
    ["an unknown escape", '"\\x"', "invalid escape at byte 1"],
    ["a short \\u escape", '"\\u12G4"', "invalid escape at byte 1"],
    ["a missing colon", '{"a" 1}', "unexpected character '1' at byte 5"],
    ["a non-string key", "{1:2}", "expected a string key at byte 1, found character '1'"],
    ["a missing comma", "[1 2]", "unexpected character '2' at byte 3"],
    ["a truncated object", '{"a":', "unexpected end of input"],
    ["a truncated literal", "tru", "unexpected end of input"],
    ["a misspelt literal", "nul1", "unexpected character '1' at byte 3"],
    ["a byte order mark", [0xef, 0xbb, 0xbf, 0x7b, 0x7d], "unexpected byte 0xef at byte 0"],
    ["a comment", "// c\n{}", "unexpected character '/' at byte 0"],
    ["trailing data", "{} x", "unexpected character 'x' at byte 3"],
    ["single quotes", "['a']", "unexpected character ''' at byte 1"],
    ["empty input", "", "empty input"],
    ["only whitespace", " \n ", "empty input"],
    ["an unterminated string", '"abc', "unexpected end of input in a string"],
  ])("%s", (_name, input, message) => {
    expect(validate(instance(), input)).toBe(message);
  });

  it("names the exact byte wherever it falls in an 8-byte word of a long plain string", () => {
    // The string scan skips plain bytes a word at a time, then jumps to the first flagged
    // byte: each offset of the bad byte (and a borrow-prone byte before it) must be reported.
    const x = instance();
    for (let pad = 0; pad < 24; pad++) {
      const head = [0x22, ...Array.from({ length: pad }, (_, k) => 0x61 + (k % 26))];
      const at = head.length;
      expect(validate(x, [...head, 0x01, 0x61, 0x22])).toBe(`unescaped control character at byte ${at}`);
      expect(validate(x, [...head, 0x00, 0x22])).toBe(`unescaped control character at byte ${at}`);
      expect(validate(x, [...head, 0xc3, 0x28, 0x61, 0x22])).toBe(`invalid UTF-8 at byte ${at}`);
      expect(validate(x, [...head, 0x5c, 0x78, 0x22])).toBe(`invalid escape at byte ${at}`);
      // A low byte right after a flagged one (a borrow into the next lane) is still found.
      expect(validate(x, [...head, 0x5c, 0x6e, 0x01, 0x22])).toBe(`unescaped control character at byte ${at + 2}`);
      expect(validate(x, [...head, 0xc3, 0xa9, 0x1f, 0x22])).toBe(`unescaped control character at byte ${at + 2}`);
      expect(validate(x, [...head, 0x5c, 0x22, 0x61, 0x22])).toBeNull();
      expect(validate(x, [...head, 0xe6, 0x97, 0xa5, 0x22])).toBeNull();
      expect(validate(x, [...head])).toBe("unexpected end of input in a string");
    }
  });

  it("agrees with a strict UTF-8 decoder on every lead and second byte, after and before valid text", () => {
    // Non-ASCII runs take a fast path (2- and 3-byte sequences checked with a masked load);
    // the verdict must stay RFC 3629's, and a refusal must name the byte where valid text ends.
    const x = instance();
    const strict = new TextDecoder("utf-8", { fatal: true });
    const valid = (b: Uint8Array): boolean => {
      try {
        strict.decode(b);
        return true;
      } catch {
        return false;
      }
    };
    const head = [...Buffer.from("日本é")];
    const thirds = [0x41, 0x80, 0xbf, 0xc0];
    const wrong: string[] = [];
    for (let lead = 0x80; lead <= 0xff; lead++) {
      for (let second = 0x20; second <= 0xff; second++) {
        for (const third of thirds) {
          if (second === 0x22 || second === 0x5c) continue;
          const text = Uint8Array.from([...head, lead, second, third, 0x80, ...Buffer.from("語")]);
          const verdict = validate(x, [0x22, ...text, 0x22]);
          const m = /^invalid UTF-8 at byte (\d+)$/.exec(verdict ?? "");
          const ok = valid(text) ? verdict === null : m !== null && valid(text.subarray(0, Number(m[1]) - 1)) && !valid(text.subarray(Number(m[1]) - 1));
          if (!ok) wrong.push(`${lead.toString(16)} ${second.toString(16)} ${third.toString(16)}: ${verdict}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("refuses nesting one deeper than the limit", () => {
    const doc = "[".repeat(65) + "]".repeat(65);
    expect(validate(instance(), doc, 64)).toBe("nesting deeper than 64");
  });

  it("refuses 100,000 open brackets without recursing (no trap)", () => {
    const x = instance();
    expect(validate(x, "[".repeat(100_000), 64)).toBe("nesting deeper than 64");
    expect(validate(x, '{"a":'.repeat(50_000), 64)).toBe("nesting deeper than 64");
    // The same instance still works afterwards.
    expect(validate(x, "[1]")).toBeNull();
  });
});

// A deterministic generator of near-JSON byte strings, so both verdicts are common.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const TOKENS = ["{", "}", "[", "]", ",", ":", '"a"', '"é"', '"\\n"', '"\\u00e9"', '"\\q"', "1", "-2.5", "1e3", "01", "true", "nul", "null", " ", "\n", '"', "\\", "x", "\u0001", "😀"];
function generate(next: () => number): string {
  const n = 1 + Math.floor(next() * 12);
  let s = "";
  for (let i = 0; i < n; i++) s += TOKENS[Math.floor(next() * TOKENS.length)];
  return s;
}
function wellFormed(next: () => number, depth = 0): unknown {
  const r = next();
  if (depth > 4 || r < 0.3) {
    const leaf = [1, -2.5, 0, 1e-7, "s", "é😀", "q\"\\\n", true, false, null];
    return leaf[Math.floor(next() * leaf.length)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => wellFormed(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 4); i > 0; i--) o[`k${Math.floor(next() * 100)}`] = wellFormed(next, depth + 1);
  return o;
}

describe("agreement with JSON.parse", () => {
  it("gives the same verdict as JSON.parse on 3,000 generated strings", () => {
    const x = instance();
    const next = rng(12345);
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = generate(next);
      let expected = true;
      try {
        JSON.parse(doc);
      } catch {
        expected = false;
      }
      if (expected) valid++;
      const verdict = validate(x, doc);
      expect({ doc, valid: verdict === null }).toEqual({ doc, valid: expected });
    }
    expect(valid).toBeGreaterThan(100); // the generator must exercise both outcomes
  });

  it("parses and reads back 500 generated objects exactly as JSON.parse does, without trapping", () => {
    const x = instance();
    const next = rng(777);
    for (let i = 0; i < 500; i++) {
      const value = { root: wellFormed(next) };
      const doc = JSON.stringify(value, null, i % 2 ? 1 : undefined);
      put(x, enc.encode(doc));
      expect(x.roundTrip(64)).toBe(1);
      expect(JSON.parse(out(x))).toEqual(value);
    }
  });

  it("parseObject refuses valid JSON that is not an object, and invalid JSON with the validator's message", () => {
    const x = instance();
    put(x, enc.encode("[1,2]"));
    expect(x.roundTrip(64)).toBe(0);
    expect(out(x)).toBe("expected a JSON object");
    put(x, enc.encode('{"a":}'));
    expect(x.roundTrip(64)).toBe(0);
    expect(out(x)).toBe("unexpected character '}' at byte 5");
  });
});

describe("type-checked readers", () => {
  const DOC = '{"s":"x","n":1.5,"i":3,"b":true,"f":false,"o":{"k":1},"a":[1,[2]],"z":null}';
  const field = (key: string): string => {
    const x = instance();
    put(x, enc.encode(key + DOC));
    expect(x.fieldTypes(enc.encode(key).length)).toBe(1);
    return out(x);
  };
  it.each([
    ["s", "string:x"],
    ["n", "number:1.5"],
    ["i", "number:3.0"],
    ["b", "bool:true"],
    ["f", "bool:false"],
    ["o", "object"],
    ["a", "array:2"],
    ["z", "null"],
    ["missing", "absent"],
  ])("field %s reads only as %s", (key, expected) => {
    expect(field(key)).toBe(expected);
  });
});
