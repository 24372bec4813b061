// Metrics (Envoy Context::defineMetric etc.): stats named `wasmcustom.<name>`, ids per VM with the
// type in the low two bits; the asymmetries (counter increment <= 0, get on a histogram) are Envoy's.
import { MetricType, WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import type { CounterHandle, GaugeHandle, HistogramHandle } from "../proxy/vm-services.ts";

export const CUSTOM_STAT_NAMESPACE = "wasmcustom";

export function metricFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  const stats = vm.services.stats;
  const lookup = (id: number, type: MetricType) => {
    const e = vm.metrics[id];
    return e && e.type === type ? e : null;
  };
  return {
    proxy_define_metric(type: number, nPtr: number, nLen: number, idPtr: number): number {
      const name = m.readString(nPtr, nLen);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      if (type >>> 0 > MetricType.Max) return WasmResult.BadArgument;
      const full = `${CUSTOM_STAT_NAMESPACE}.${name}`;
      // The stat itself is kept with the id (stats are never removed from the store): an
      // increment then costs no lookup by name.
      const stat = type === MetricType.Counter ? stats.counter(full) : type === MetricType.Gauge ? stats.gauge(full) : stats.histogram(full);
      const id = vm.nextMetricId(type);
      vm.metrics[id] = { type, name: full, stat };
      return m.writeU32(idPtr, id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_increment_metric(id: number, offset: bigint): number {
      id >>>= 0;
      const type = (id & 3) as MetricType;
      if (type === MetricType.Counter) {
        const e = lookup(id, type);
        if (!e) return WasmResult.NotFound;
        if (offset <= 0n) return WasmResult.BadArgument;
        (e.stat as CounterHandle).add(offset);
        return WasmResult.Ok;
      }
      if (type === MetricType.Gauge) {
        const e = lookup(id, type);
        if (!e) return WasmResult.NotFound;
        const g = e.stat as GaugeHandle;
        if (offset >= 0n) g.add(offset);
        else g.sub(-offset);
        return WasmResult.Ok;
      }
      return WasmResult.BadArgument;
    },
    proxy_record_metric(id: number, value: bigint): number {
      id >>>= 0;
      const type = (id & 3) as MetricType;
      const e = lookup(id, type);
      if (!e) return WasmResult.NotFound;
      // A histogram reads the value as int64 (circllhist), which `value` already is: no
      // round trip through uint64.
      if (type === MetricType.Histogram) {
        (e.stat as HistogramHandle).record(value);
        return WasmResult.Ok;
      }
      const v = BigInt.asUintN(64, value);
      if (type === MetricType.Counter) (e.stat as CounterHandle).add(v);
      else (e.stat as GaugeHandle).set(v);
      return WasmResult.Ok;
    },
    proxy_get_metric(id: number, retPtr: number): number {
      id >>>= 0;
      const type = (id & 3) as MetricType;
      if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
      const e = lookup(id, type);
      if (!e) return WasmResult.NotFound;
      const v = type === MetricType.Counter ? (e.stat as CounterHandle).bigValue : (e.stat as GaugeHandle).bigValue;
      return m.writeU64(retPtr, v) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
