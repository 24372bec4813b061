// Envoy's per-stream filter state, as far as the host uses it: the values Wasm filters set with
// set_property, which Envoy names `wasm.<path>`. Kept by path, without the prefix: every
// set_property of every request would otherwise build and hash a new key string, while lookups
// by full name (the access log's %FILTER_STATE(...)%) are rare.

const WASM_PREFIX = "wasm.";

export class FilterState {
  private readonly wasm = new Map<string, Uint8Array>();

  /** set_property(path): filter state `wasm.<path>`. */
  setWasm(path: string, value: Uint8Array): void {
    this.wasm.set(path, value);
  }
  getWasm(path: string): Uint8Array | undefined {
    return this.wasm.get(path);
  }
  /** By full filter-state name, e.g. `wasm.ai.log`. */
  get(name: string): Uint8Array | undefined {
    return name.startsWith(WASM_PREFIX) ? this.wasm.get(name.slice(WASM_PREFIX.length)) : undefined;
  }
  get size(): number {
    return this.wasm.size;
  }
  clear(): void {
    this.wasm.clear();
  }
}
