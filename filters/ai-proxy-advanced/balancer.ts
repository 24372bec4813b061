// The balancer: for each request, the order in which targets are tried (reference §3.2).
// Kong picks again at every retry, skipping targets already tried; here the whole order is
// picked up front, from the same rules, and each try's upstream filter takes the next one.
// Targets whose circuit breaker is open are left out.

import { Algorithm, AdvancedConfig } from "./config";
import { BalancerState, fnv32 } from "./state";

function gcd(a: i32, b: i32): i32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Fisher–Yates with Math.random (seeded from the host's random_get). */
function shuffle(a: i32[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = <i32>Math.floor(Math.random() * <f64>(i + 1));
    const t = unchecked(a[i]);
    unchecked((a[i] = a[j]));
    unchecked((a[j] = t));
  }
}

/** Each target takes weight / gcd(weights) slots, shuffled once (Kong's round-robin wheel). */
function buildWheel(members: i32[], weights: i32[]): i32[] {
  let g = 0;
  for (let i = 0; i < members.length; i++) g = gcd(g, weights[members[i]]);
  const wheel = new Array<i32>();
  for (let i = 0; i < members.length; i++) {
    const n = weights[members[i]] / max<i32>(g, 1);
    for (let k = 0; k < n; k++) wheel.push(members[i]);
  }
  shuffle(wheel);
  return wheel;
}

export class Planner {
  private weights: i32[] = [];
  private wheel: i32[] = [];
  private pos: i32 = 0;
  /** priority: target indexes grouped by equal weight, highest weight first. */
  private groups: i32[][] = [];
  private groupWheels: i32[][] = [];
  private groupPos: i32[] = [];
  /** consistent-hashing: points on the continuum, sorted, and their owners. */
  private points: u32[] = [];
  private owners: i32[] = [];
  private tick: i32 = 0;

  constructor(private cfg: AdvancedConfig) {
    const ts = cfg.targets;
    const all = new Array<i32>();
    for (let i = 0; i < ts.length; i++) {
      this.weights.push(ts[i].weight);
      all.push(i);
    }
    this.wheel = buildWheel(all, this.weights);
    this.pos = <i32>Math.floor(Math.random() * <f64>this.wheel.length);
    // priority groups
    const distinct = new Array<i32>();
    for (let i = 0; i < ts.length; i++) if (!distinct.includes(ts[i].weight)) distinct.push(ts[i].weight);
    distinct.sort((a: i32, b: i32): i32 => b - a);
    for (let g = 0; g < distinct.length; g++) {
      const m = new Array<i32>();
      for (let i = 0; i < ts.length; i++) if (ts[i].weight == distinct[g]) m.push(i);
      this.groups.push(m);
      this.groupWheels.push(buildWheel(m, this.weights));
      this.groupPos.push(0);
    }
    if (cfg.balancer.algorithm == Algorithm.ConsistentHashing) this.buildContinuum();
  }

  private buildContinuum(): void {
    const ts = this.cfg.targets;
    let total = 0;
    for (let i = 0; i < ts.length; i++) total += ts[i].weight;
    const slots = this.cfg.balancer.slots;
    const pairs = new Array<u64>();
    for (let i = 0; i < ts.length; i++) {
      // about weight / Σweight × n_targets × 160 points each, within the continuum's slots
      let n = <i32>Math.floor((<f64>ts[i].weight / <f64>total) * <f64>ts.length * 160);
      n = min<i32>(max<i32>(n, 1), slots);
      for (let k = 0; k < n; k++) {
        const h = fnv32(i.toString() + ":" + k.toString() + ":" + ts[i].label());
        pairs.push(((<u64>h) << 32) | <u64>i);
      }
    }
    pairs.sort((a: u64, b: u64): i32 => (a < b ? -1 : a > b ? 1 : 0));
    for (let k = 0; k < pairs.length; k++) {
      this.points.push(<u32>(pairs[k] >> 32));
      this.owners.push(<i32>(pairs[k] & 0xffffffff));
    }
  }

  /** The try order: at most balancer.retries + 1 targets, none with an open breaker. */
  plan(state: BalancerState, hashKey: string | null, nowMs: f64): i32[] {
    const ts = this.cfg.targets;
    const b = this.cfg.balancer;
    const ok = new Array<bool>(ts.length);
    let available = 0;
    for (let i = 0; i < ts.length; i++) {
      // Out: an open circuit breaker, or a key whose environment variable is not set.
      const out = state.isOpen(i, b.maxFails, <f64>b.failTimeout, nowMs) || ts[i].cfg.auth.missingEnv.length > 0;
      ok[i] = !out;
      if (!out) available++;
    }
    const want = min<i32>(b.retries + 1, available);
    const out = new Array<i32>();
    if (want <= 0) return out;
    const a = b.algorithm;
    if (a == Algorithm.RoundRobin) this.fromWheel(this.wheel, true, ok, want, out);
    else if (a == Algorithm.Priority) {
      let first = true;
      for (let g = 0; g < this.groups.length && out.length < want; g++) {
        const before = out.length;
        this.fromGroup(g, first, ok, want, out);
        if (out.length > before) first = false;
      }
    } else if (a == Algorithm.ConsistentHashing) this.fromContinuum(hashKey, ok, want, out);
    else this.byScore(a, state, ok, want, nowMs, out);
    return out;
  }

  /** Walks the wheel from the pointer; the pointer advances one slot per request. */
  private fromWheel(wheel: i32[], advance: bool, ok: bool[], want: i32, out: i32[]): void {
    const n = wheel.length;
    const start = this.pos;
    if (advance) this.pos = (this.pos + 1) % n;
    for (let k = 0; k < n && out.length < want; k++) {
      const t = wheel[(start + k) % n];
      if (ok[t] && !out.includes(t)) out.push(t);
    }
  }

  private fromGroup(g: i32, advance: bool, ok: bool[], want: i32, out: i32[]): void {
    const wheel = this.groupWheels[g];
    const n = wheel.length;
    const start = this.groupPos[g];
    if (advance) this.groupPos[g] = (start + 1) % n;
    for (let k = 0; k < n && out.length < want; k++) {
      const t = wheel[(start + k) % n];
      if (ok[t] && !out.includes(t)) out.push(t);
    }
  }

  private fromContinuum(key: string | null, ok: bool[], want: i32, out: i32[]): void {
    const pts = this.points;
    const n = pts.length;
    const h: u32 = key != null ? fnv32(key) : <u32>Math.floor(Math.random() * 4294967295.0);
    // first point at or after the key's hash, wrapping around
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pts[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    for (let k = 0; k < n && out.length < want; k++) {
      const t = this.owners[(lo + k) % n];
      if (ok[t] && !out.includes(t)) out.push(t);
    }
  }

  /** lowest-latency, lowest-usage, least-connections: ascending score ÷ weight. */
  private byScore(a: Algorithm, state: BalancerState, ok: bool[], want: i32, nowMs: f64, out: i32[]): void {
    const ts = this.cfg.targets;
    const scores = new Array<f64>(ts.length);
    if (a == Algorithm.LeastConnections) {
      for (let i = 0; i < ts.length; i++) scores[i] = state.inFlight(i) / <f64>ts[i].weight;
    } else {
      const kind = a == Algorithm.LowestLatency ? "latency" : "usage";
      let sum = 0.0;
      let measured = 0;
      for (let i = 0; i < ts.length; i++) {
        const v = state.ewma(kind, i, nowMs);
        scores[i] = v;
        if (v >= 0) {
          sum += v;
          measured++;
        }
      }
      // New targets start at the mean EWMA.
      const mean = measured > 0 ? sum / <f64>measured : 0;
      for (let i = 0; i < ts.length; i++) scores[i] = (scores[i] < 0 ? mean : scores[i]) / <f64>ts[i].weight;
    }
    // Equal scores take turns (rotating start), so unmeasured targets share the first requests.
    const order = new Array<i32>();
    const rot = this.tick++;
    for (let k = 0; k < ts.length; k++) order.push((k + rot) % ts.length);
    for (let x = 1; x < order.length; x++) {
      const v = order[x];
      let y = x - 1;
      while (y >= 0 && scores[order[y]] > scores[v]) {
        order[y + 1] = order[y];
        y--;
      }
      order[y + 1] = v;
    }
    for (let k = 0; k < order.length && out.length < want; k++) if (ok[order[k]]) out.push(order[k]);
  }
}
