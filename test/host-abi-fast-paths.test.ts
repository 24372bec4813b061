// The host ABI's fast paths give exactly what the general paths give: interned keys (readKey)
// against readString, int64 properties written without BigInt against writeBigInt64LE,
// histogram bins computed in doubles against circllhist's BigInt arithmetic, and property
// paths resolved from a shared, frozen segment list.
import { describe, expect, it } from "vitest";
import { GuestMemory, keySlot } from "../host/abi/memory.ts";
import { FilterState } from "../host/proxy/filter-state.ts";
import { encodePairs, pairsSize, writePairs } from "../host/abi/pairs.ts";
import { binFor, HistogramData } from "../host/stats/histogram.ts";
import { Counter } from "../host/stats/store.ts";
import { resolveProperty } from "../host/proxy/properties.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { HeaderMap } from "../host/http/header-map.ts";
import type { ContextBase } from "../host/proxy/context.ts";

function guest(): { mem: GuestMemory; u8: () => Uint8Array } {
  const wasm = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const mem = new GuestMemory();
  mem.bind(wasm, () => 0);
  return { mem, u8: () => new Uint8Array(wasm.buffer) };
}

describe("GuestMemory.readKey", () => {
  it("reads what readString reads: ASCII, UTF-8, invalid bytes, empty, NUL, long, out of bounds", () => {
    const { mem, u8 } = guest();
    const inputs: Uint8Array[] = [
      Buffer.from(":path"),
      Buffer.from("ai.facts"),
      Buffer.from("response\0code"),
      Buffer.from(""),
      Buffer.from("héllo"),
      Uint8Array.of(0x61, 0xff, 0x62),
      Uint8Array.of(0xc3),
      Buffer.from("x".repeat(64)),
      Buffer.from("y".repeat(65)),
      Buffer.from("\u007f\u0001"),
    ];
    for (const bytes of inputs) {
      u8().set(bytes, 1000);
      // Twice: the second read is the table's.
      expect(mem.readKey(1000, bytes.length)).toBe(mem.readString(1000, bytes.length));
      expect(mem.readKey(1000, bytes.length)).toBe(Buffer.from(bytes).toString("utf8"));
    }
    expect(mem.readKey(65535, 2)).toBeNull();
    expect(mem.readKey(-1 >>> 0, 1)).toBeNull();
  });

  it("never answers a stale key: new bytes at the same place, and keys that share a slot", () => {
    const { mem, u8 } = guest();
    const put = (s: string, at = 2000) => (u8().set(Buffer.from(s), at), mem.readKey(at, Buffer.byteLength(s)));
    expect(put("content-length")).toBe("content-length");
    expect(put("content-lengtx")).toBe("content-lengtx");
    expect(put("content-length")).toBe("content-length");
    // Far more distinct keys than the table has slots, read twice over: every answer is right.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) expect(put(`k${i}`, 3000 + (i % 7))).toBe(`k${i}`);
    }
  });
});

describe("keySlot", () => {
  it("is the slot readKey gives the same key's bytes, and -1 where readKey interns nothing", () => {
    const { mem, u8 } = guest();
    const keys = ["", "a", "ab", "abc", "abcd", "ai.facts", "ai.prompt_tokens", "response\0code", "x".repeat(64), "\u007f\u0001~"];
    for (let i = 0; i < 500; i++) keys.push(`ai.key_${i}_${"z".repeat(i % 9)}`);
    for (const k of keys) {
      u8().set(Buffer.from(k), 4000);
      expect(mem.readKey(4000, k.length)).toBe(k);
      expect(keySlot(k)).toBe(mem.keySlot);
      expect(keySlot(k)).toBeGreaterThanOrEqual(0);
    }
    for (const k of ["y".repeat(65), "héllo", "\u0100", "a\ud800"]) {
      const b = Buffer.from(k);
      u8().set(b, 4000);
      mem.readKey(4000, b.length);
      expect(mem.keySlot).toBe(-1);
      expect(keySlot(k)).toBe(-1);
    }
  });
});

describe("FilterState", () => {
  // Envoy's Context::setProperty (source/extensions/common/wasm/context.cc) copies the value into
  // the stream's CelState: a later write of guest memory does not change it, and a second set of
  // the same path replaces the value.
  it("keeps copies, replaces a path's value, and finds every path among slot-sharing and uninterned ones", () => {
    const fs = new FilterState();
    const src = new Uint8Array(20000);
    const want = new Map<string, Buffer>();
    const paths: string[] = ["ai.facts", "y".repeat(65), "héllo", ""];
    for (let i = 0; i < 800; i++) paths.push(`k${i}`); // many of them share a slot (1024 slots)
    paths.forEach((p, i) => {
      const n = [0, 1, 7, 64, 65, 300, 4096, 4097, 9000][i % 9]!;
      for (let j = 0; j < n; j++) src[100 + j] = (i * 7 + j) & 0xff;
      fs.setCopy(p, keySlot(p), src, 100, n);
      want.set(p, Buffer.from(src.subarray(100, 100 + n)));
      src.fill(0xee, 100, 100 + n); // the guest reuses its memory
    });
    // A second set replaces, whatever its size.
    for (const p of ["ai.facts", "k7", "héllo"]) {
      src.set(Buffer.from(`new ${p}`), 50);
      fs.setCopy(p, keySlot(p), src, 50, Buffer.byteLength(`new ${p}`));
      want.set(p, Buffer.from(`new ${p}`));
    }
    expect(fs.size).toBe(paths.length);
    const slots = new Set(paths.map(keySlot));
    expect(slots.size).toBeLessThan(paths.length - 100);
    for (const [p, v] of want) {
      expect(Buffer.from(fs.getWasm(p)!).equals(v)).toBe(true);
      expect(Buffer.from(fs.get(`wasm.${p}`)!).equals(v)).toBe(true);
    }
    expect(fs.getWasm("k800")).toBeUndefined();
    expect(fs.get("ai.facts")).toBeUndefined();
    // A value set as it is comes back as that object.
    const b = Buffer.from("v");
    fs.setWasm("k", b);
    expect(fs.getWasm("k")).toBe(b);
    fs.clear();
    expect(fs.size).toBe(0);
    expect(fs.getWasm("ai.facts")).toBeUndefined();
  });
});

describe("GuestMemory.read", () => {
  it("gives copies that later writes to guest memory and later reads never change, pooled or not", () => {
    const { mem, u8 } = guest();
    const sizes = [0, 1, 64, 65, 100, 1000, 4095, 4096, 4097, 9000, 3000, 3000, 3000, 70];
    const got: { at: number; want: Buffer; copy: Uint8Array }[] = [];
    sizes.forEach((n, k) => {
      const at = 100 + k * 7;
      const want = Buffer.alloc(n, k + 1);
      for (let i = 0; i < n; i++) want[i] = (i * 31 + k) & 0xff;
      u8().set(want, at);
      const copy = mem.read(at, n)!;
      expect(Buffer.from(copy)).toEqual(want);
      got.push({ at, want, copy });
      u8().fill(0xee, at, at + n); // the guest reuses its memory
    });
    for (const { want, copy } of got) {
      expect(Buffer.from(copy)).toEqual(want);
      expect(copy.slice(0, 3)).not.toBe(copy); // Uint8Array semantics: slice copies
    }
    expect(mem.read(65530, 10)).toBeNull();
  });
});

describe("header pairs written into guest memory", () => {
  it("are the bytes encodePairs gives, for ASCII, unicode, empty and NUL-bearing pairs", () => {
    const maps: [string, string][][] = [
      [[":path", "/v1/chat/completions"]],
      [["a", ""], ["", "b"], ["x-ü", "värde ✓ 😀"], ["k", "v\u0000w"], [":authority", "gw"]],
      Array.from({ length: 50 }, (_, i) => [`h${i}`, "v".repeat(i * 3)] as [string, string]),
    ];
    for (const pairs of maps) {
      const wasm = new WebAssembly.Memory({ initial: 1 });
      const mem = new GuestMemory();
      mem.bind(wasm, () => 1000);
      const lens: number[] = [];
      const size = pairsSize(pairs, lens);
      expect(mem.copyOutWith(size, (out, at) => writePairs(out, at, pairs, lens), 0, 4)).toBe(true);
      const dv = new DataView(wasm.buffer);
      expect(dv.getUint32(0, true)).toBe(1000);
      expect(dv.getUint32(4, true)).toBe(size);
      expect(Buffer.from(wasm.buffer, 1000, size)).toEqual(Buffer.from(encodePairs(pairs)));
    }
  });
});

describe("int64 properties", () => {
  function ctxWith(code: number | null): ContextBase {
    const info = new StreamInfo(7, { address: "1.2.3.4", port: 5 }, { address: "5.6.7.8", port: 9 });
    info.responseCode = code;
    const headers = new HeaderMap([[":path", "/a?b=c"]]);
    return {
      streamInfo: () => info,
      activationRequestHeaders: () => headers,
      activationResponseHeaders: () => null,
      activationResponseTrailers: () => null,
      plugin: { name: "p", rootId: "r" },
      vm: { vmId: "v" },
    } as unknown as ContextBase;
  }
  const reference = (n: number): Uint8Array => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return new Uint8Array(b);
  };

  it("are the 8 little-endian bytes of the int64, negative and large values included", () => {
    const values = [0, 1, 200, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER, -1, -200, -(2 ** 31), -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER];
    for (const n of values) expect(new Uint8Array(resolveProperty(ctxWith(n), ["response", "code"]) as Uint8Array)).toEqual(reference(n));
    expect(resolveProperty(ctxWith(null), ["response", "code"])).toBe(1); // NOT_FOUND
  });

  it("resolves from a frozen segment list, which it never changes", () => {
    const ctx = ctxWith(200);
    const paths = [["request", "path"], ["request", "url_path"], ["request", "query"], ["request", "headers", ":path"], ["source", "port"], ["connection", "id"], ["request"], ["xds"], ["plugin_name"], [""], []];
    const want = ["/a?b=c", "/a", "b=c", "/a?b=c", reference(5), reference(7), 1, 1, "p", 1, 1];
    paths.forEach((p, i) => {
      const frozen = Object.freeze([...p]);
      const got = resolveProperty(ctx, frozen);
      const w = want[i]!;
      if (typeof w === "string") expect(Buffer.from(got as Uint8Array).toString()).toBe(w);
      else if (typeof w === "number") expect(got).toBe(w);
      else expect(new Uint8Array(got as Uint8Array)).toEqual(w);
      expect(frozen).toEqual(p);
    });
  });
});

describe("histogram bins", () => {
  it("bin every value in doubles as circllhist's BigInt arithmetic does", () => {
    const values: number[] = [0, 1, 5, 9, 10, 11, 99, 100, 101, 999, 1000, 1049, 1050, 123456789, 2 ** 52, Number.MAX_SAFE_INTEGER];
    for (let d = 0; d < 16; d++) for (const m of [1, 9.99, 5]) values.push(Math.floor(m * 10 ** d));
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      values.push(Math.floor((seed / 2 ** 31) * 10 ** (i % 16)));
    }
    for (const v of [...values, ...values.map((x) => -x)]) {
      for (const input of [v, BigInt(v)]) {
        const h = new HistogramData();
        h.record(input);
        const b = binFor(BigInt(v))!;
        expect(h.snapshot()).toEqual({ recorded: true, bins: [[b.val, b.exp, 1n]] });
      }
    }
  });

  it("keep the BigInt path beyond 2^53 and saturate counts at 2^64 - 1", () => {
    for (const v of [2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n]) {
      const h = new HistogramData();
      h.record(v);
      const b = binFor(BigInt.asIntN(64, v))!;
      expect(h.snapshot().bins).toEqual([[b.val, b.exp, 1n]]);
    }
    const h = new HistogramData();
    h.merge({ recorded: true, bins: [[12, 1, 2n ** 64n - 2n]] });
    h.record(12);
    h.record(12n);
    expect(h.snapshot().bins).toEqual([[12, 1, 2n ** 64n - 1n]]);
  });

  it("a counter still wraps at 2^64 when only out-of-range sums take the remainder", () => {
    const c = new Counter("c", "c", []);
    c.add(5n);
    c.add(2n ** 64n - 6n);
    expect(c.bigValue).toBe(2n ** 64n - 1n);
    c.add(3n);
    expect(c.bigValue).toBe(2n);
    c.add(2n ** 65n + 1n);
    expect(c.bigValue).toBe(3n);
  });

  it("a counter sums small increments in a double and gives what BigInt arithmetic gives", () => {
    const c = new Counter("c", "c", []);
    let want = 0n;
    let seed = 11;
    const adds: (number | bigint)[] = [0, 1, 1n, 0xffffffff, 0xfffffffffn, 0x100000000, 2n ** 63n, -1n, -5, 7.9, 2 ** 40, 2n ** 52n];
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      adds.push(i % 3 === 0 ? BigInt(seed) : i % 3 === 1 ? seed % 1000 : BigInt(seed) * 2n ** 20n);
    }
    for (const [i, n] of adds.entries()) {
      c.add(n);
      want = BigInt.asUintN(64, want + (typeof n === "bigint" ? n : BigInt(Math.trunc(n))));
      if (i % 97 === 0) expect(c.bigValue).toBe(want); // reads in between fold what was summed
    }
    expect(c.bigValue).toBe(want);
    expect(c.used).toBe(true);
    expect(() => c.add(NaN)).toThrow(RangeError);
    expect(c.bigValue).toBe(want);
    // A double's sum near 2^53 is folded before it could round.
    const d = new Counter("d", "d", []);
    for (let i = 0; i < 3000; i++) d.add(0xffffffff);
    d.add(2n ** 53n);
    for (let i = 0; i < 3000; i++) d.add(0xffffffffn);
    expect(d.bigValue).toBe(6000n * 0xffffffffn + 2n ** 53n);
  });

  it("a histogram's counts read the same whether folded or not, and still saturate", () => {
    const h = new HistogramData();
    const ref = new Map<string, bigint>();
    for (let i = 0; i < 3000; i++) {
      const v = (i * 7919) % 5000;
      h.record(v);
      const b = binFor(BigInt(v))!;
      ref.set(`${b.val},${b.exp}`, (ref.get(`${b.val},${b.exp}`) ?? 0n) + 1n);
      if (i % 500 === 0) expect(h.sampleCount).toBe(BigInt(i + 1));
    }
    const got = new Map(h.snapshot().bins.map(([val, exp, n]) => [`${val},${exp}`, n]));
    expect(got).toEqual(ref);
    expect(h.sampleCount).toBe(3000n);
    const s = new HistogramData();
    s.record(12);
    s.merge({ recorded: true, bins: [[12, 1, 2n ** 64n - 3n]] });
    s.record(12);
    s.record(12);
    expect(s.snapshot().bins).toEqual([[12, 1, 2n ** 64n - 1n]]);
  });
});
