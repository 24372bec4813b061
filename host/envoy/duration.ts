// google.protobuf.Duration as Envoy reads it from YAML: the JSON form "5s", "0.25s", "1.5s"
// (seconds with up to 9 fractional digits) or the object form {seconds, nanos}.
// Envoy turns durations into milliseconds with TimeUtil::DurationToMilliseconds, which
// truncates: "0.0005s" is 0 ms, and for a timeout 0 means "disabled". We do the same.

import { EnvoyConfigError } from "./errors.ts";

const MAX_SECONDS = 315_576_000_000; // protobuf Duration's range limit

export function parseDurationMs(value: unknown, path: string): number {
  let seconds: number;
  let nanos: number;
  if (typeof value === "string") {
    const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (!m) throw new EnvoyConfigError(path, `invalid duration ${JSON.stringify(value)} (expected e.g. "5s" or "0.25s")`);
    const sign = m[1] ? -1 : 1;
    seconds = sign * Number(m[2]);
    nanos = sign * Number((m[3] ?? "").padEnd(9, "0"));
  } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== "seconds" && k !== "nanos") throw new EnvoyConfigError(`${path}.${k}`, "unknown field");
    }
    seconds = toInt(o.seconds ?? 0, `${path}.seconds`);
    nanos = toInt(o.nanos ?? 0, `${path}.nanos`);
    if (Math.abs(nanos) > 999_999_999) throw new EnvoyConfigError(`${path}.nanos`, "out of range");
  } else {
    throw new EnvoyConfigError(path, `invalid duration ${JSON.stringify(value)} (expected e.g. "5s")`);
  }
  if (Math.abs(seconds) > MAX_SECONDS) throw new EnvoyConfigError(path, "duration out of range");
  if (seconds < 0 || nanos < 0) throw new EnvoyConfigError(path, "negative durations are not allowed");
  return seconds * 1000 + Math.trunc(nanos / 1_000_000);
}

function toInt(v: unknown, path: string): number {
  // Protobuf JSON accepts int64 as a number or a decimal string.
  const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) throw new EnvoyConfigError(path, `expected an integer, got ${JSON.stringify(v)}`);
  return n;
}
