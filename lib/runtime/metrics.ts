// Metric handles. Defining a metric is a host call that Envoy forbids during _start, so a
// handle created at top level defines itself on first use (and retries if that failed).
// Names may carry Istio-style labels (see taggedName) for stats_tags to extract.

import { MetricType } from "../abi/enums";
import { defineMetric, getMetric, incrementMetric, recordMetric } from "../abi/metrics";

abstract class Metric {
  private id: i64 = -1;

  constructor(
    public readonly name: string,
    private readonly type: i32,
  ) {}

  /** The metric id, defining it if needed; negative (a negated WasmResult) on failure. */
  protected ensure(): i64 {
    if (this.id < 0) {
      const id = defineMetric(this.type, this.name);
      if (id >= 0) this.id = id;
      return id;
    }
    return this.id;
  }
}

/** A monotonically increasing count (Envoy counter). */
export class Counter extends Metric {
  constructor(name: string) {
    super(name, MetricType.Counter);
  }
  /** Adds `delta` (> 0; Envoy refuses 0 and negatives with BAD_ARGUMENT). Returns the host status. */
  increment(delta: i64 = 1): i32 {
    const id = this.ensure();
    return id < 0 ? <i32>-id : incrementMetric(<u32>id, delta);
  }
  /** The current value across workers; 0 on failure (see lastStatus). */
  get(): u64 {
    const id = this.ensure();
    return id < 0 ? 0 : getMetric(<u32>id);
  }
}

/** A value that goes up and down (Envoy gauge, accumulated across workers). */
export class Gauge extends Metric {
  constructor(name: string) {
    super(name, MetricType.Gauge);
  }
  /** Sets the value. Returns the host status. */
  set(value: u64): i32 {
    const id = this.ensure();
    return id < 0 ? <i32>-id : recordMetric(<u32>id, value);
  }
  /** Adds (or, negative, subtracts). Returns the host status. */
  add(delta: i64): i32 {
    const id = this.ensure();
    return id < 0 ? <i32>-id : incrementMetric(<u32>id, delta);
  }
  get(): u64 {
    const id = this.ensure();
    return id < 0 ? 0 : getMetric(<u32>id);
  }
}

/** A distribution (Envoy histogram). It has no get: Envoy answers BAD_ARGUMENT. */
export class Histogram extends Metric {
  constructor(name: string) {
    super(name, MetricType.Histogram);
  }
  /** Records one sample. Returns the host status. */
  record(value: u64): i32 {
    const id = this.ensure();
    return id < 0 ? <i32>-id : recordMetric(<u32>id, value);
  }
}

const counters = new Map<string, Counter>();
const gauges = new Map<string, Gauge>();
const histograms = new Map<string, Histogram>();

/** The counter with this name, created once per VM (for names built at run time). */
export function counter(name: string): Counter {
  if (counters.has(name)) return counters.get(name);
  const c = new Counter(name);
  counters.set(name, c);
  return c;
}
export function gauge(name: string): Gauge {
  if (gauges.has(name)) return gauges.get(name);
  const g = new Gauge(name);
  gauges.set(name, g);
  return g;
}
export function histogram(name: string): Histogram {
  if (histograms.has(name)) return histograms.get(name);
  const h = new Histogram(name);
  histograms.set(name, h);
  return h;
}

/**
 * A stat name with labels in Istio's delimiters: `name;.;key=.=value;.;…`, which a
 * `stats_tags` regex like `(key=\.=(.*?);\.;)` turns into a Prometheus label.
 * ';' in keys and values becomes '_' so a value cannot end its label early.
 */
export function taggedName(name: string, keys: string[], values: string[]): string {
  let out = name + ";.;";
  const n = min(keys.length, values.length);
  for (let i = 0; i < n; i++) {
    out += unchecked(keys[i]).replaceAll(";", "_") + "=.=" + unchecked(values[i]).replaceAll(";", "_") + ";.;";
  }
  return out;
}
