// Envoy's per-stream filter state, as far as the host uses it: the values Wasm filters set with
// set_property, which Envoy names `wasm.<path>`. Kept by path, without the prefix: every
// set_property of every request would otherwise build and hash a new key string, while lookups
// by full name (the access log's %FILTER_STATE(...)%) are rare.
//
// A set copies the value (Envoy's Context::setProperty copies it into a CelState, in
// source/extensions/common/wasm/context.cc) into the host's byte pool, and an entry keeps where
// the copy is: no Map and no typed array per value. A stream sets a few dozen keys at most, so
// entries are found by a scan of their key slots (readKey's, a function of the key's bytes),
// confirmed by comparing the path; a later set of a path replaces its value.

import { bytePool, keySlot } from "../abi/memory.ts";

const WASM_PREFIX = "wasm.";
/** The paths of a state with no entry (never written: put() makes a state's own arrays first). */
const NONE: string[] = [];
const NO_CHUNKS: Uint8Array[] = [];

export class FilterState {
  // Per entry: the key's slot, the copy's offset and length (nums, three each), the path and the
  // chunk holding the copy. Made on the first set: most streams of a plain route set nothing.
  private nums: number[] | null = null;
  private paths: string[] = NONE;
  private chunks: Uint8Array[] = NO_CHUNKS;

  /** set_property(path): filter state `wasm.<path>`, the value kept as it is (not copied). */
  setWasm(path: string, value: Uint8Array): void {
    this.put(path, keySlot(path), value, 0, value.length);
  }

  /**
   * set_property(path) of src[from, from + len), copied. `slot` is keySlot(path) (what readKey
   * left in GuestMemory.keySlot for the path it read).
   */
  setCopy(path: string, slot: number, src: Uint8Array, from: number, len: number): void {
    const pool = bytePool;
    pool.copy(src, from, len);
    this.put(path, slot, pool.chunk, pool.at, len);
  }

  /** The value of `path`; `slot` is keySlot(path) when the caller has it. */
  getWasm(path: string, slot: number = keySlot(path)): Uint8Array | undefined {
    const i = this.find(path, slot);
    if (i < 0) return undefined;
    const nums = this.nums!;
    const chunk = this.chunks[i]!;
    const at = nums[3 * i + 1]!;
    const len = nums[3 * i + 2]!;
    return at === 0 && len === chunk.length ? chunk : chunk.subarray(at, at + len);
  }

  /** By full filter-state name, e.g. `wasm.ai.log`. */
  get(name: string): Uint8Array | undefined {
    return name.startsWith(WASM_PREFIX) ? this.getWasm(name.slice(WASM_PREFIX.length)) : undefined;
  }

  get size(): number {
    return this.paths.length;
  }

  clear(): void {
    this.nums = null;
    this.paths = NONE;
    this.chunks = NO_CHUNKS;
  }

  /** The entry of `path` (whose slot is `slot`), or -1. */
  private find(path: string, slot: number): number {
    const nums = this.nums;
    if (nums === null) return -1;
    const paths = this.paths;
    for (let i = 0, n = paths.length; i < n; i++) if (nums[3 * i] === slot && paths[i] === path) return i;
    return -1;
  }

  private put(path: string, slot: number, chunk: Uint8Array, at: number, len: number): void {
    let i = this.find(path, slot);
    if (i < 0) {
      if (this.nums === null) {
        this.nums = [];
        this.paths = [];
        this.chunks = [];
      }
      i = this.paths.length;
      this.paths.push(path);
      this.chunks.push(chunk);
      this.nums.push(slot, at, len);
      return;
    }
    const nums = this.nums!;
    this.chunks[i] = chunk;
    nums[3 * i + 1] = at;
    nums[3 * i + 2] = len;
  }
}
