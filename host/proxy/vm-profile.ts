// AIGW_WASM_PROFILE=<dir>: every VM this thread creates times its top-level calls per export
// (WasmVm.profileByExport), and the thread writes the running totals to <dir>/<pid>-<thread>.json
// twice a second, so a bench can diff two snapshots around a run of the running gateway.
// Off (no clock reads) unless the variable is set.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import type { WasmVm } from "./wasm-vm.ts";

const dir = process.env.AIGW_WASM_PROFILE;
const vms: WasmVm[] = [];
let timer: NodeJS.Timeout | null = null;

export interface VmProfileSnapshot {
  [vmKey: string]: { [exportName: string]: { ns: number; calls: number } };
}

export function profileVm(vm: WasmVm): void {
  if (!dir) return;
  vm.profile = true;
  vm.profileByExport = new Map();
  vms.push(vm);
  timer ??= setInterval(() => {
    const snap: VmProfileSnapshot = {};
    vms.forEach((v, i) => {
      const e: VmProfileSnapshot[string] = (snap[`${v.vmId}#${v.worker}#${i}`] = {});
      for (const [name, { ns, calls }] of v.profileByExport!) e[name] = { ns: Number(ns), calls };
    });
    writeFileSync(join(dir, `${process.pid}-${threadId}.json`), JSON.stringify(snap));
  }, 500).unref();
}
