// get/set_buffer_bytes' fast paths (get copies from the buffer's chunks straight into the
// module's allocation; set at start 0 swaps the chunk list when it replaces the whole buffer, and
// keeps the buffer, copying nothing, when the bytes written back are those it replaces) against the general path written out here: join the chunks, then slice, drain and prepend. The set model is Envoy's Buffer::copyFrom (source/extensions/common/wasm/context.cc):
// start 0 drains `length` then prepends; start >= length() appends; anything else is
// BadArgument. The get clamp is proxy-wasm-cpp-host's get_buffer_bytes (src/exports.cc).
import { describe, expect, it } from "vitest";
import { bufferFunctions } from "../host/abi/buffers.ts";
import { GuestMemory } from "../host/abi/memory.ts";
import { WasmResult } from "../host/abi/enums.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { constBuffer, mutableBuffer, type BufferRef } from "../host/proxy/context.ts";
import type { WasmVm } from "../host/proxy/wasm-vm.ts";

const PTR_PTR = 16;
const SIZE_PTR = 20;
const DATA = 64;

/** A module whose malloc grows memory by a page on every call (so every copy crosses a grow). */
function harness(ref: () => BufferRef) {
  const wasm = new WebAssembly.Memory({ initial: 2, maximum: 2000 });
  const mem = new GuestMemory();
  let top = 65536;
  let mallocs = 0;
  mem.bind(wasm, (n) => {
    mallocs++;
    wasm.grow(Math.ceil(n / 65536) + 1);
    const p = top;
    top += n + 8;
    return p;
  });
  const vm = { memory: mem, context: () => ({ getBuffer: () => ref() }) } as unknown as WasmVm;
  const fns = bufferFunctions(vm) as unknown as Record<string, (...args: number[]) => number>;
  const u8 = () => new Uint8Array(wasm.buffer);
  const dv = () => new DataView(wasm.buffer);
  return {
    mallocs: () => mallocs,
    get(start: number, length: number): { status: number; bytes: string } {
      dv().setUint32(PTR_PTR, 0xdead, true);
      dv().setUint32(SIZE_PTR, 0xdead, true);
      const status = fns.proxy_get_buffer_bytes!(0, start | 0, length | 0, PTR_PTR, SIZE_PTR);
      const ptr = dv().getUint32(PTR_PTR, true);
      const size = dv().getUint32(SIZE_PTR, true);
      return { status, bytes: Buffer.from(u8().subarray(ptr, ptr + size)).toString("latin1") };
    },
    setAt(start: number, length: number, ptr: number, size: number): number {
      return fns.proxy_set_buffer_bytes!(0, start | 0, length | 0, ptr, size);
    },
    set(start: number, length: number, data: string): number {
      u8().set(Buffer.from(data, "latin1"), DATA);
      const status = fns.proxy_set_buffer_bytes!(0, start | 0, length | 0, DATA, data.length);
      // The guest reuses its memory: the host must have kept a copy.
      u8().fill(0x3f, DATA, DATA + data.length);
      return status;
    },
  };
}

/** The general path: one joined string. */
function modelGet(content: string, start: number, length: number): string {
  start >>>= 0;
  length >>>= 0;
  if (start > content.length) return "";
  return content.slice(start, start + Math.min(length, content.length - start));
}

function modelSet(content: string, start: number, length: number, data: string): { status: number; content: string } {
  start >>>= 0;
  length >>>= 0;
  if (start === 0) return { status: WasmResult.Ok, content: data + content.slice(Math.min(length, content.length)) };
  if (start >= content.length) return { status: WasmResult.Ok, content: content + data };
  return { status: WasmResult.BadArgument, content };
}

function instance(slices: string[]): BufferInstance {
  const b = new BufferInstance();
  for (const s of slices) b.add(Buffer.from(s, "latin1"));
  return b;
}

const SLICES: string[][] = [
  [],
  ["abcdef"],
  ["ab", "cd", "ef"],
  ["a", "bcdefgh", "i"],
  ["x".repeat(5000), "y".repeat(3000), "z".repeat(10)],
];

function positions(size: number): number[] {
  return [...new Set([0, 1, 2, 3, size - 1, size, size + 1, 0xffffffff].filter((n) => n >= 0))];
}

describe("proxy_get_buffer_bytes", () => {
  it("copies what the joined buffer gives: start > 0, length past the end, empty and multi-slice buffers", () => {
    for (const slices of SLICES) {
      const content = slices.join("");
      for (const start of positions(content.length)) {
        for (const length of [0, 1, 2, 4, content.length, content.length + 1, 0xffffffff]) {
          const b = instance(slices);
          const h = harness(() => mutableBuffer(b));
          expect(h.get(start, length), `${slices.length} slices, get(${start}, ${length})`).toEqual({ status: 0, bytes: modelGet(content, start, length) });
          const c = harness(() => constBuffer(Buffer.from(content, "latin1")));
          expect(c.get(start, length).bytes).toBe(modelGet(content, start, length));
          // A read leaves the buffer as it was.
          expect(b.toString()).toBe(content);
        }
      }
    }
  });

  it("an empty read writes (0, 0) without calling malloc", () => {
    const h = harness(() => mutableBuffer(instance(["abc"])));
    expect(h.get(3, 10)).toEqual({ status: 0, bytes: "" });
    expect(h.get(0, 0)).toEqual({ status: 0, bytes: "" });
    expect(h.mallocs()).toBe(0);
    h.get(0, 1);
    expect(h.mallocs()).toBe(1);
  });
});

describe("proxy_set_buffer_bytes", () => {
  it("prepends, replaces or appends as Envoy's Buffer::copyFrom does, writing back unchanged bytes included", () => {
    for (const slices of SLICES) {
      const content = slices.join("");
      for (const start of positions(content.length)) {
        for (const length of [0, 1, 2, 3, content.length - 1, content.length, content.length + 10, 0xffffffff].filter((n) => n >= 0)) {
          const replaced = content.slice(0, Math.min(length >>> 0, content.length));
          const datas = new Set(["", "Z", "ZZZ", replaced, replaced.slice(0, -1), replaced.slice(0, -1) + "!", "!" + replaced.slice(1), content, "w".repeat(6000)]);
          for (const data of datas) {
            const b = instance(slices);
            const h = harness(() => mutableBuffer(b));
            const want = modelSet(content, start, length, data);
            const what = `${slices.length} slices, set(${start}, ${length}, ${data.length} bytes)`;
            expect(h.set(start, length, data), what).toBe(want.status);
            expect(b.toString(), what).toBe(want.content);
            expect(b.length, what).toBe(want.content.length);
            // Reads that cross the chunks the write left.
            expect(h.get(1, 0xffffffff).bytes, what).toBe(want.content.slice(1));
            expect(h.get(0, want.content.length - 1).bytes, what).toBe(want.content.slice(0, -1));
          }
        }
      }
    }
  });

  it("writing back the bytes it replaces keeps the buffer's own chunks; one byte different replaces them", () => {
    const first = Buffer.from("abc");
    const b = new BufferInstance();
    b.add(first);
    b.add(Buffer.from("def"));
    const h = harness(() => mutableBuffer(b));
    expect(h.set(0, 0xffffffff, "abcdef")).toBe(0);
    expect(h.set(0, 4, "abcd")).toBe(0);
    expect(h.set(0, 0, "")).toBe(0);
    expect(b.toBuffer().buffer).toBe(first.buffer); // still the two chunks, joined only now
    expect(b.toString()).toBe("abcdef");
    const one = new BufferInstance(first);
    const h1 = harness(() => mutableBuffer(one));
    expect(h1.set(0, 3, "abc")).toBe(0);
    expect(one.toBuffer().buffer).toBe(first.buffer);
    expect(one.toBuffer().byteOffset).toBe(first.byteOffset);
    expect(h1.set(0, 3, "abd")).toBe(0);
    expect(one.toString()).toBe("abd");
    expect(one.toBuffer().buffer).not.toBe(first.buffer);
  });

  it("a write-back from outside guest memory is refused before any compare", () => {
    const b = instance(["abc"]);
    const h = harness(() => mutableBuffer(b));
    expect(h.setAt(0, 3, 0x7fffffff, 3)).toBe(WasmResult.InvalidMemoryAccess);
    expect(b.toString()).toBe("abc");
  });

  it("an immutable buffer refuses every write", () => {
    const h = harness(() => constBuffer(Buffer.from("abc")));
    expect(h.set(0, 3, "abc")).toBe(WasmResult.BadArgument);
    expect(h.set(3, 0, "x")).toBe(WasmResult.BadArgument);
  });
});
