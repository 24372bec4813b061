// The WASI preview1 functions Envoy registers (cpp-host exports.cc), under both
// wasi_snapshot_preview1 and wasi_unstable. Most are stubs in Envoy too.
import { LogLevel, WasiErrno } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { randomFillSync } from "node:crypto";

export function wasiFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  const envPairs = () => Object.entries(vm.env).map(([k, v]) => Buffer.from(`${k}=${v}\0`));
  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      if (fd !== 1 && fd !== 2) return WasiErrno.BADF;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const iov = m.read(iovs + i * 8, 8);
        if (iov === null) return WasiErrno.FAULT;
        const dv = new DataView(iov.buffer, iov.byteOffset, 8);
        const data = m.read(dv.getUint32(0, true), dv.getUint32(4, true));
        if (data === null) return WasiErrno.FAULT;
        parts.push(data);
      }
      const bytes = Buffer.concat(parts);
      if (!m.writeU32(nwrittenPtr, bytes.length)) return WasiErrno.FAULT;
      let text = bytes.toString("utf8");
      if (text.endsWith("\n")) text = text.slice(0, -1);
      vm.services.log.plugin(vm, fd === 1 ? LogLevel.Info : LogLevel.Error, text);
      return WasiErrno.SUCCESS;
    },
    fd_read: () => WasiErrno.NOSYS,
    fd_seek: () => WasiErrno.NOSYS,
    fd_close: () => WasiErrno.NOSYS,
    fd_fdstat_get(fd: number, statPtr: number): number {
      if (fd !== 1 && fd !== 2) return WasiErrno.BADF;
      const stat = new Uint8Array(24);
      stat[0] = 2; // __WASI_FILETYPE_CHARACTER_DEVICE
      return m.write(statPtr, stat) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const e = envPairs();
      return m.writeU32(countPtr, e.length) && m.writeU32(sizePtr, e.reduce((n, b) => n + b.length, 0)) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    environ_get(environPtr: number, bufPtr: number): number {
      let p = bufPtr >>> 0;
      for (const [i, b] of envPairs().entries()) {
        if (!m.writeU32(environPtr + i * 4, p) || !m.write(p, b)) return WasiErrno.FAULT;
        p += b.length;
      }
      return WasiErrno.SUCCESS;
    },
    args_sizes_get(argcPtr: number, sizePtr: number): number {
      return m.writeU32(argcPtr, 0) && m.writeU32(sizePtr, 0) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    args_get: () => WasiErrno.SUCCESS,
    clock_time_get(clockId: number, _precision: bigint, timePtr: number): number {
      let t: bigint;
      if (clockId === 0) t = vm.services.clock.realtimeNs();
      else if (clockId === 1) t = vm.services.clock.monotonicNs();
      else return WasiErrno.NOTSUP;
      return m.writeU64(timePtr, t) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    random_get(bufPtr: number, len: number): number {
      if (len >>> 0 > 65536) return WasiErrno.INVAL;
      const b = new Uint8Array(len >>> 0);
      randomFillSync(b);
      return m.write(bufPtr, b) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    // Envoy logs and returns; the module's own `unreachable` after it is what traps.
    proc_exit(): void {
      vm.services.log.plugin(vm, LogLevel.Trace, "wasi_unstable proc_exit");
    },
    path_open: () => WasiErrno.NOTCAPABLE,
    fd_prestat_get: () => WasiErrno.BADF,
    fd_prestat_dir_name: () => WasiErrno.NOSYS,
  };
}
