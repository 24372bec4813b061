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

describe("decodePairs", () => {
  // The plain decoding: every key and value through a TextDecoder (which drops a leading BOM
  // and replaces invalid sequences); the ASCII fast path must not change a single string.
  const td = new TextDecoder("utf-8");
  const raw = (pairs: (string | number[])[][]): Uint8Array => {
    const enc = pairs.map((kv) => kv.map((x) => (typeof x === "string" ? Buffer.from(x) : Buffer.from(x))));
    const head = Buffer.alloc(4 + enc.length * 8);
    head.writeUInt32LE(enc.length, 0);
    enc.forEach(([k, v], i) => (head.writeUInt32LE(k!.length, 4 + i * 8), head.writeUInt32LE(v!.length, 8 + i * 8)));
    return Buffer.concat([head, ...enc.flatMap(([k, v]) => [k!, Buffer.of(0), v!, Buffer.of(0)])]);
  };
  it.each<[string, (string | number[])[][]]>([
    ["ASCII", [[":status", "200"], ["content-type", "application/json"]]],
    ["non-ASCII", [["x", "café ✓ 😀"]]],
    ["a leading BOM (dropped by the TextDecoder)", [[[0xef, 0xbb, 0xbf, 0x61], [0xef, 0xbb, 0xbf]]]],
    ["invalid UTF-8", [[[0x61, 0xff, 0x62], [0xc3, 0x28, 0xe2, 0x82]]]],
    ["DEL and control bytes", [[[0x7f, 0x01], [0x09, 0x7e]]]],
  ])("%s: the same strings as decoding each with a TextDecoder", (_name, pairs) => {
    const bytes = raw(pairs);
    const expected = pairs.map((kv) => kv.map((x) => td.decode(typeof x === "string" ? Buffer.from(x) : Uint8Array.from(x))));
    expect(decodePairs(bytes)).toEqual(expected);
    // From inside a larger buffer (a view with an offset), as guest memory hands it over.
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 7);
    expect(decodePairs(big.subarray(7, 7 + bytes.length))).toEqual(expected);
  });
});
