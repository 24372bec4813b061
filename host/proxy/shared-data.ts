// Process-wide shared data keyed by vm_id (cpp-host src/shared_data.cc). CAS values come from
// one global counter starting at 1; 0 is skipped on wrap. A set with cas != 0 on an absent key
// succeeds, as in cpp-host. With worker threads the store is shared-data-memory.ts instead,
// in memory every thread maps, so CAS holds across threads.

import { WasmResult } from "../abi/enums.ts";

/** What a VM's host functions use (host/abi/shared.ts). */
export interface SharedDataApi {
  get(vmId: string, key: string): { value: Uint8Array; cas: number } | null;
  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult;
}

export class SharedData implements SharedDataApi {
  private readonly data = new Map<string, Map<string, { value: Uint8Array; cas: number }>>();
  private cas = 1;

  private nextCas(): number {
    const r = this.cas;
    this.cas = (this.cas + 1) >>> 0;
    if (this.cas === 0) this.cas = 1;
    return r;
  }

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | null {
    return this.data.get(vmId)?.get(key) ?? null;
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let map = this.data.get(vmId);
    if (!map) this.data.set(vmId, (map = new Map()));
    const cur = map.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return WasmResult.CasMismatch;
    map.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }
}
