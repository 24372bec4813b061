// envoy.service.ratelimit.v3 messages on the wire (protobuf), the few fields this gateway uses.
// Field numbers from api/envoy/service/ratelimit/v3/rls.proto and
// api/envoy/extensions/common/ratelimit/v3/ratelimit.proto:
//   RateLimitRequest   1 domain, 2 descriptors, 3 hits_addend
//   RateLimitDescriptor 1 entries{1 key, 2 value}, 2 limit{1 requests_per_unit, 2 unit}, 3 hits_addend (UInt64Value{1})
//   RateLimitResponse  1 overall_code, 2 statuses
//   DescriptorStatus   1 code, 2 current_limit{1 requests_per_unit, 2 unit, 3 name}, 3 limit_remaining,
//                      4 duration_until_reset (Duration{1 seconds, 2 nanos})
// The reader never traps: a malformed message reads as null.

export class ProtoWriter {
  buf: Array<u8> = new Array<u8>();

  varint(v: u64): void {
    while (v >= 0x80) {
      this.buf.push(<u8>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    this.buf.push(<u8>v);
  }
  tag(field: u32, wire: u32): void {
    this.varint(((<u64>field) << 3) | wire);
  }
  uint(field: u32, v: u64): void {
    this.tag(field, 0);
    this.varint(v);
  }
  bytes(field: u32, b: Array<u8>): void {
    this.tag(field, 2);
    this.varint(<u64>b.length);
    for (let i = 0; i < b.length; i++) this.buf.push(unchecked(b[i]));
  }
  string(field: u32, s: string): void {
    const u = Uint8Array.wrap(String.UTF8.encode(s));
    this.tag(field, 2);
    this.varint(<u64>u.length);
    for (let i = 0; i < u.length; i++) this.buf.push(unchecked(u[i]));
  }
  toArrayBuffer(): ArrayBuffer {
    const out = new ArrayBuffer(this.buf.length);
    const p = changetype<usize>(out);
    for (let i = 0; i < this.buf.length; i++) store<u8>(p + <usize>i, unchecked(this.buf[i]));
    return out;
  }
}

export class DescriptorEntry {
  constructor(
    public key: string,
    public value: string,
  ) {}
}

/** One descriptor: its entries, the limit override (requests per unit, RateLimitUnit) and hits_addend. */
export class Descriptor {
  constructor(
    public entries: DescriptorEntry[],
    public limit: u32,
    public unit: u32,
    public hitsAddend: u64,
  ) {}
}

/** envoy.type.v3.RateLimitUnit: SECOND 1, MINUTE 2, HOUR 3, DAY 4, MONTH 5, YEAR 6 (WEEK 7). */
export function unitOf(windowSize: i64): u32 {
  if (windowSize == 1) return 1;
  if (windowSize == 60) return 2;
  if (windowSize == 3600) return 3;
  if (windowSize == 86400) return 4;
  if (windowSize == 2592000) return 5;
  if (windowSize == 31536000) return 6;
  return 0;
}

export function encodeRateLimitRequest(domain: string, descriptors: Descriptor[]): ArrayBuffer {
  const w = new ProtoWriter();
  w.string(1, domain);
  for (let i = 0; i < descriptors.length; i++) {
    const d = unchecked(descriptors[i]);
    const dw = new ProtoWriter();
    for (let j = 0; j < d.entries.length; j++) {
      const e = unchecked(d.entries[j]);
      const ew = new ProtoWriter();
      ew.string(1, e.key);
      ew.string(2, e.value);
      dw.bytes(1, ew.buf);
    }
    const lw = new ProtoWriter();
    lw.uint(1, <u64>d.limit);
    lw.uint(2, <u64>d.unit);
    dw.bytes(2, lw.buf);
    // Per-descriptor hits_addend, present even when 0: the service then checks without counting.
    const hw = new ProtoWriter();
    if (d.hitsAddend > 0) hw.uint(1, d.hitsAddend);
    dw.bytes(3, hw.buf);
    w.bytes(2, dw.buf);
  }
  return w.toArrayBuffer();
}

export class DescriptorStatus {
  /** 1 OK, 2 OVER_LIMIT (0 UNKNOWN). */
  code: u32 = 0;
  limit: u64 = 0;
  remaining: u64 = 0;
  resetSeconds: i64 = 0;
}

export class RateLimitResponse {
  overall: u32 = 0;
  statuses: DescriptorStatus[] = [];
}

class Reader {
  i: i32;
  ok: bool = true;
  constructor(
    public b: Uint8Array,
    public start: i32,
    public end: i32,
  ) {
    this.i = start;
  }
  get more(): bool {
    return this.ok && this.i < this.end;
  }
  varint(): u64 {
    let v: u64 = 0;
    let shift: u64 = 0;
    while (this.i < this.end && shift < 64) {
      const c = <u64>unchecked(this.b[this.i++]);
      v |= (c & 0x7f) << shift;
      if (c < 0x80) return v;
      shift += 7;
    }
    this.ok = false;
    return 0;
  }
  /** Skips a field of wire type `wire`; false on a type this reader does not know. */
  skip(wire: u32): void {
    if (wire == 0) this.varint();
    else if (wire == 1) this.i += 8;
    else if (wire == 5) this.i += 4;
    else if (wire == 2) this.i += <i32>this.lengthOf();
    else this.ok = false;
    if (this.i > this.end) this.ok = false;
  }
  lengthOf(): u64 {
    const n = this.varint();
    if (n > <u64>(this.end - this.i)) {
      this.ok = false;
      return 0;
    }
    return n;
  }
}

function readLimit(r: Reader, end: i32, s: DescriptorStatus): void {
  const saveEnd = r.end;
  r.end = end;
  while (r.more) {
    const t = r.varint();
    const f = <u32>(t >> 3);
    const wt = <u32>(t & 7);
    if (f == 1 && wt == 0) s.limit = r.varint();
    else r.skip(wt);
  }
  r.end = saveEnd;
}

function readDuration(r: Reader, end: i32, s: DescriptorStatus): void {
  const saveEnd = r.end;
  r.end = end;
  while (r.more) {
    const t = r.varint();
    const f = <u32>(t >> 3);
    const wt = <u32>(t & 7);
    if (f == 1 && wt == 0) s.resetSeconds = <i64>r.varint();
    else r.skip(wt);
  }
  r.end = saveEnd;
}

function readStatus(r: Reader, end: i32): DescriptorStatus {
  const s = new DescriptorStatus();
  const saveEnd = r.end;
  r.end = end;
  while (r.more) {
    const t = r.varint();
    const f = <u32>(t >> 3);
    const wt = <u32>(t & 7);
    if (f == 1 && wt == 0) s.code = <u32>r.varint();
    else if (f == 3 && wt == 0) s.remaining = r.varint();
    else if ((f == 2 || f == 4) && wt == 2) {
      const n = <i32>r.lengthOf();
      const e = r.i + n;
      if (f == 2) readLimit(r, e, s);
      else readDuration(r, e, s);
      r.i = e;
    } else r.skip(wt);
  }
  r.end = saveEnd;
  return s;
}

export function decodeRateLimitResponse(b: Uint8Array): RateLimitResponse | null {
  const r = new Reader(b, 0, b.length);
  const out = new RateLimitResponse();
  while (r.more) {
    const t = r.varint();
    const f = <u32>(t >> 3);
    const wt = <u32>(t & 7);
    if (f == 1 && wt == 0) out.overall = <u32>r.varint();
    else if (f == 2 && wt == 2) {
      const n = <i32>r.lengthOf();
      const e = r.i + n;
      out.statuses.push(readStatus(r, e));
      r.i = e;
    } else r.skip(wt);
  }
  return r.ok ? out : null;
}
