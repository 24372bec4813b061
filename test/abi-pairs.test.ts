// Header-map serialization (host/abi/pairs.ts, after proxy-wasm-cpp-host src/pairs_util.cc):
// encodePairs sizes and writes in place; it must give exactly the bytes of the plain
// Buffer.from-per-string encoding on every kind of string, and decode back.
import { describe, expect, it } from "vitest";
import { decodePairs, encodePairs } from "../host/abi/pairs.ts";

/** The straightforward encoding: u32 count, (u32 key_len, u32 value_len) each, then key\0 value\0 each. */
function reference(pairs: [string, string][]): Buffer {
  const enc = pairs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
  const head = Buffer.alloc(4 + enc.length * 8);
  head.writeUInt32LE(enc.length, 0);
  enc.forEach(([k, v], i) => (head.writeUInt32LE(k.length, 4 + i * 8), head.writeUInt32LE(v.length, 8 + i * 8)));
  return Buffer.concat([head, ...enc.flatMap(([k, v]) => [k, Buffer.of(0), v, Buffer.of(0)])]);
}

describe("encodePairs", () => {
  const cases: [string, [string, string][]][] = [
    ["no pairs", []],
    ["ASCII", [[":path", "/v1/chat/completions"], ["content-length", "1025"]]],
    ["empty keys and values", [["", ""], ["a", ""], ["", "b"]]],
    ["non-ASCII", [["x-name", "café ✓ 😀"], ["ключ", "значение"]]],
    ["a lone surrogate (encoded as U+FFFD, as Buffer.from does)", [["k", "a\ud800b"], ["\udc00", "v"]]],
    ["NUL and control bytes inside", [["a\u0000b", "c\u0001d\u007f"]]],
    ["long values", [["k", "x".repeat(5000)], ["é".repeat(3000), "y"]]],
  ];
  it.each(cases)("%s: the same bytes as the plain encoding, and decodes back", (_name, pairs) => {
    const got = encodePairs(pairs);
    expect(Buffer.from(got)).toEqual(reference(pairs));
    const back = decodePairs(got);
    expect(back).toEqual(pairs.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]));
  });
});
