// GuestMemory caches views over the module's memory; a grow detaches the old buffer, and every
// access after it must see the new, larger memory (and never the detached one).
import { describe, expect, it } from "vitest";
import { GuestMemory } from "../host/abi/memory.ts";

function guest(pages: number): { mem: GuestMemory; wasm: WebAssembly.Memory } {
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: 16 });
  const mem = new GuestMemory();
  let next = 8;
  mem.bind(wasm, (size) => {
    const p = next;
    next += size;
    return p;
  });
  return { mem, wasm };
}

describe("GuestMemory", () => {
  it("refuses accesses past the end and accepts the last byte", () => {
    const { mem } = guest(1);
    expect(mem.write(65535, Uint8Array.of(7))).toBe(true);
    expect(mem.read(65535, 1)).toEqual(Uint8Array.of(7));
    expect(mem.read(65535, 2)).toBeNull();
    expect(mem.readString(65536, 1)).toBeNull();
    expect(mem.writeU32(65533, 1)).toBe(false);
    expect(mem.read(-1 >>> 0, 1)).toBeNull();
  });

  it("decodes UTF-8 as Buffer does, invalid sequences as U+FFFD", () => {
    const { mem, wasm } = guest(1);
    const bytes = Buffer.concat([Buffer.from("héllo ✓ "), Buffer.from([0xff, 0xc3])]);
    new Uint8Array(wasm.buffer).set(bytes, 100);
    expect(mem.readString(100, bytes.length)).toBe(bytes.toString("utf8"));
    expect(mem.readString(100, bytes.length)).toBe("héllo ✓ \ufffd\ufffd");
    expect(mem.readString(100, 0)).toBe("");
  });

  it("sees memory added by a grow, and what the guest wrote there", () => {
    const { mem, wasm } = guest(1);
    expect(mem.readString(0, 2)).toBe("\0\0"); // views made over the first buffer
    wasm.grow(1); // detaches that buffer, as a guest memory.grow does
    new Uint8Array(wasm.buffer).set(Buffer.from("grown"), 70000);
    expect(mem.readString(70000, 5)).toBe("grown");
    expect(mem.write(131071, Uint8Array.of(1))).toBe(true);
    expect(mem.read(131071, 2)).toBeNull();
  });

  it("writes through a grow that happens inside copyOut's malloc", () => {
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 16 });
    const mem = new GuestMemory();
    mem.bind(wasm, () => {
      wasm.grow(1); // a malloc that has to grow memory
      return 65536 + 16; // an address only the grown memory has
    });
    expect(mem.readString(0, 1)).toBe("\0");
    expect(mem.copyOut(Buffer.from("value"), 0, 4)).toBe(true);
    const dv = new DataView(wasm.buffer);
    expect(dv.getUint32(0, true)).toBe(65552);
    expect(dv.getUint32(4, true)).toBe(5);
    expect(mem.readString(65552, 5)).toBe("value");
  });

  it("copyOutString writes the same bytes as copyOut(Buffer.from(s)) for ASCII, non-ASCII, long and empty strings", () => {
    for (const s of ["1025", "", "héllo ✓", "x".repeat(64), "y".repeat(65) + "é", "a\u0000b", "\u007f"]) {
      const a = guest(1);
      const b = guest(1);
      expect(a.mem.copyOutString(s, 0, 4)).toBe(true);
      expect(b.mem.copyOut(Buffer.from(s), 0, 4)).toBe(true);
      expect(Buffer.from(a.wasm.buffer)).toEqual(Buffer.from(b.wasm.buffer));
      expect(new DataView(a.wasm.buffer).getUint32(4, true)).toBe(Buffer.byteLength(s));
    }
  });

  it("copyOutString writes through a grow inside malloc and refuses a pointer outside memory", () => {
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 16 });
    const mem = new GuestMemory();
    mem.bind(wasm, () => (wasm.grow(1), 65536 + 8));
    expect(mem.readString(0, 1)).toBe("\0");
    expect(mem.copyOutString("grown", 0, 4)).toBe(true);
    expect(mem.readString(65544, 5)).toBe("grown");
    const bad = new GuestMemory();
    bad.bind(new WebAssembly.Memory({ initial: 1 }), () => 65535);
    expect(bad.copyOutString("ab", 0, 4)).toBe(false);
  });
});
