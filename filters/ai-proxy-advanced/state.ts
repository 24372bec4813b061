// Node-wide balancer state in shared data (one store per vm_id, shared by every worker's VM),
// updated with compare-and-swap: per target, the latency and usage EWMAs, the circuit
// breaker's failure count, and the in-flight count for least-connections. Keys carry a hash
// of the parsed targets (config.ts stateKey), so the listener's filter and the cluster's
// upstream filter share one state however their JSON is laid out, and other target lists don't.

import { casAfterRead, getSharedData, setSharedData } from "../../lib/abi/shared-data";
import { WasmResult } from "../../lib/abi/enums";

const CAS_TRIES = 16;

export function fnv32(s: string): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= <u32>s.charCodeAt(i);
    h *= 0x01000193;
  }
  return h;
}

/** Two numbers "a,b" (0,0 when absent or malformed). */
class Pair {
  constructor(
    public a: f64,
    public b: f64,
  ) {}
}

function readPair(key: string): Pair {
  const v = getSharedData(key);
  if (v == null) return new Pair(0, 0);
  return parsePair(String.UTF8.decode(v.value));
}

function parsePair(s: string): Pair {
  const c = s.indexOf(",");
  if (c < 0) return new Pair(0, 0);
  const a = parseFloat(s.substring(0, c));
  const b = parseFloat(s.substring(c + 1));
  return new Pair(isNaN(a) ? 0 : a, isNaN(b) ? 0 : b);
}

/** Read-modify-write with CAS; `f` maps the current pair to the new one. */
function updatePair(key: string, f: (p: Pair, now: f64) => Pair, now: f64): void {
  for (let i = 0; i < CAS_TRIES; i++) {
    const v = getSharedData(key);
    const cur = v != null ? parsePair(String.UTF8.decode(v.value)) : new Pair(0, 0);
    const n = f(cur, now);
    const s = String.UTF8.encode(n.a.toString() + "," + n.b.toString());
    if (setSharedData(key, s, casAfterRead(v)) != WasmResult.CasMismatch) return;
  }
}

export class BalancerState {
  constructor(private prefix: string) {}

  private key(kind: string, i: i32): string {
    return "ai-proxy-advanced:" + this.prefix + ":" + kind + ":" + i.toString();
  }

  // ---- EWMA (reference §3.2): new = old × w + sample × (1 − w), w = exp(−Δt / 10 s);
  // the score decays towards 0 while a target is idle, so it gets probed again.

  ewma(kind: string, i: i32, nowMs: f64): f64 {
    const p = readPair(this.key(kind, i));
    if (p.b == 0) return -1; // never measured
    return p.a * Math.exp(-(max<f64>(nowMs - p.b, 0)) / 10000);
  }

  addSample(kind: string, i: i32, sample: f64, nowMs: f64): void {
    sample_ = sample;
    updatePair(
      this.key(kind, i),
      (p: Pair, now: f64): Pair => {
        if (p.b == 0) return new Pair(sample_, now);
        const w = Math.exp(-(max<f64>(now - p.b, 0)) / 10000);
        return new Pair(p.a * w + sample_ * (1 - w), now);
      },
      nowMs,
    );
  }

  // ---- circuit breaker: total failures (not consecutive); open at max_fails until fail_timeout
  // has passed since the last failure, then the count starts again.

  failed(i: i32, nowMs: f64, failTimeout: f64): void {
    failTimeout_ = failTimeout;
    updatePair(
      this.key("fails", i),
      (p: Pair, now: f64): Pair => (p.b > 0 && now - p.b >= failTimeout_ ? new Pair(1, now) : new Pair(p.a + 1, now)),
      nowMs,
    );
  }

  isOpen(i: i32, maxFails: i32, failTimeout: f64, nowMs: f64): bool {
    if (maxFails <= 0) return false;
    const p = readPair(this.key("fails", i));
    return p.a >= <f64>maxFails && nowMs - p.b < failTimeout;
  }

  // ---- in-flight tries per target (least-connections)

  inFlight(i: i32): f64 {
    return readPair(this.key("conn", i)).a;
  }

  addInFlight(i: i32, d: f64): void {
    delta_ = d;
    updatePair(this.key("conn", i), (p: Pair, now: f64): Pair => new Pair(max<f64>(p.a + delta_, 0), 1), 0);
  }
}

// AssemblyScript closures cannot capture locals: the values travel through module globals
// (each VM runs one callback at a time).
let sample_: f64 = 0;
let failTimeout_: f64 = 0;
let delta_: f64 = 0;
