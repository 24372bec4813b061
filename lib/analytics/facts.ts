// `ai.facts`: every fact ai-metrics counts, packed in one filter-state value, so that ai-metrics
// reads one property per request instead of twenty-two (each get_property is a host call that
// decodes a path, looks the key up and copies the value back into the guest; that was most of
// ai-metrics' time in the V8 profile of bench/chain.ts).
//
// Writers: lib/analytics (ai-proxy's record, each transformer's LLM call), ai-azure-content-safety's
// blocks and ai-rate-limiting-advanced's denials, all through putFact. Each writer still writes
// its documented individual keys (`ai.provider_name`, `ai.rate_limited`, …) for access logs and
// other readers; a producer that writes only those is still counted (ai-metrics reads them when
// `ai.facts` is absent).
//
// Layout, little-endian: a version byte, then entries
//   kind u8 | id length u32 | id | payload length u32 | payload
// An entry replaces an earlier one of the same kind and id, as a second set_property of a key
// replaces the first. Record payload: prompt, completion and total tokens and latency in ms
// (i64 each, -1 = absent), cost in nano-dollars (u64, 0 = none), status (i64), then the label
// fields (`length u32 | bytes` each, in LABEL_FIELDS order), which ai-metrics uses as its
// label-set cache key as they are. The other kinds' payload is the comma-separated names.

import { HttpContext } from "../runtime";
import { getPropertyAt, PropertyReader } from "../abi/properties";
import { proxy_set_property } from "../abi/imports";
import { ByteBuilder } from "../llm/json-writer";

/** A property path (one segment, or segments joined by \0) as the bytes the host reads. */
export function path(segments: string): ArrayBuffer {
  return String.UTF8.encode(segments);
}

/**
 * The raw value at a path serialised once per VM (`path`), or null when absent (see
 * lastStatus): no string[] path to serialise per read, as getProperty does.
 */
export function property(p: ArrayBuffer): ArrayBuffer | null {
  return getPropertyAt(p);
}

export const FACTS_KEY = "ai.facts";
const FACTS = path(FACTS_KEY);
export const FACTS_VERSION: u8 = 1;

/** An analytics record; its id is the writer's key prefix ("ai.", "ai.ai-request-transformer."). */
export const FACT_RECORD: u8 = 1;
/** ai-azure-content-safety's breached categories of a blocked prompt / answer ("Hate,Violence"). */
export const FACT_SAFETY_INPUT: u8 = 2;
export const FACT_SAFETY_OUTPUT: u8 = 3;
/** ai-rate-limiting-advanced's denied providers ("openai,azure"). */
export const FACT_RATE_LIMITED: u8 = 4;

// A record's payload: the numbers at fixed offsets, then the label fields.
export const R_PROMPT = 0;
export const R_COMPLETION = 8;
export const R_TOTAL = 16;
export const R_LATENCY = 24;
export const R_COST = 32;
export const R_STATUS = 40;
export const R_LABELS = 48;
/**
 * The label fields, in order: provider, request model, response model, request mode, route
 * type, cache status, vector db, embeddings provider, embeddings model, error type, operation.
 * The operation is gen_ai.operation.name as operationOfPath gives it for the :path the writer
 * sent upstream (empty when the writer does not know it: ai-metrics then reads :path itself).
 */
export const LABEL_FIELDS = 11;
export const L_ROUTE_TYPE = 4;
export const L_ERROR_TYPE = 9;
export const L_OPERATION = 10;

/**
 * gen_ai.operation.name from a request path (client or provider path): embeddings,
 * text_completion or chat. ai-metrics derives it from :path when no route type names it; a
 * producer that sets :path records the same answer in its record (L_OPERATION), so that
 * ai-metrics need not read :path.
 */
export function operationOfPath(path: string): string {
  const q = path.indexOf("?");
  const p = (q >= 0 ? path.substring(0, q) : path).toLowerCase();
  if (p.includes("embed")) return "embeddings";
  if (p.endsWith("/chat/completions") || p.endsWith("/chat") || p.endsWith("/messages")) return "chat";
  if (p.endsWith("/completions") || p.endsWith("/generate") || p.endsWith("/complete")) return "text_completion";
  return "chat";
}

/**
 * A count as ai-metrics reads it from a key's decimal text: non-negative and at most 18
 * digits, else -1 (absent).
 */
export function count(v: i64): i64 {
  return v >= 0 && v < 1_000_000_000_000_000_000 ? v : -1;
}

// Largest cost carried: 1.8e10 dollars in nano-dollars still fits in u64.
export const MAX_NANO: f64 = 1.8e19;

/**
 * A dollar amount as text (`0.00037`, `3.7e-7`) to nano-dollars, rounded to the nearest one;
 * 0 for anything that is not a plain non-negative finite number.
 */
export function parseCostNano(s: string): u64 {
  if (s.length == 0 || s.length > 64) return 0;
  // Only digits, one '.', and an exponent: parseFloat alone would accept "12abc" as 12.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x65 || c == 0x45 || c == 0x2d || c == 0x2b;
    if (!ok) return 0;
  }
  const c0 = s.charCodeAt(0);
  if (c0 == 0x2d || c0 == 0x2b) return 0;
  const v = parseFloat(s);
  if (!isFinite(v) || v <= 0) return 0;
  const nano = Math.round(v * 1e9);
  if (nano >= MAX_NANO) return 0;
  return <u64>nano;
}

/** Walks the entries of an `ai.facts` value; stops at the end or at the first malformed entry. */
export class FactsReader {
  // The value's buffer when reset() was given one (kept alive while read), else null.
  private buf: ArrayBuffer | null = null;
  private start: usize = 0;
  private pos: usize = 0;
  private end: usize = 0;
  /** False once an entry did not fit (the value was not written by putFact). */
  ok: bool = false;
  kind: u8 = 0;
  idAt: usize = 0;
  idLen: u32 = 0;
  at: usize = 0;
  len: u32 = 0;

  constructor(buf: ArrayBuffer | null = null) {
    if (buf != null) this.reset(buf);
  }

  // Set by valid(): every record has been checked, so next() need not check them again.
  private checked: bool = false;

  /** Starts over on `buf` (one reader can serve every request). */
  reset(buf: ArrayBuffer): FactsReader {
    this.resetAt(changetype<usize>(buf), <usize>buf.byteLength);
    this.buf = buf;
    return this;
  }

  /** Starts over on the `len` bytes at `p`, which the caller keeps unchanged while this reads them. */
  resetAt(p: usize, len: usize): FactsReader {
    this.buf = null;
    this.start = p;
    this.end = p + len;
    this.ok = len >= 1 && load<u8>(p) == FACTS_VERSION;
    this.pos = p + 1;
    this.checked = false;
    return this;
  }

  /** Whether every entry of the value is well-formed (walks it, then stands before the first entry again). */
  valid(): bool {
    while (this.next()) {}
    if (!this.ok) return false;
    this.pos = this.start + 1;
    this.checked = true;
    return true;
  }

  /** Moves to the next entry; false at the end (or when malformed: see ok). */
  next(): bool {
    if (!this.ok || this.pos == this.end) return false;
    let p = this.pos;
    const end = this.end;
    if (end - p < 5) return this.fail();
    this.kind = load<u8>(p);
    this.idLen = load<u32>(p + 1);
    p += 5;
    if (<u64>(end - p) < <u64>this.idLen + 4) return this.fail();
    this.idAt = p;
    p += <usize>this.idLen;
    this.len = load<u32>(p);
    p += 4;
    if (<u64>(end - p) < <u64>this.len) return this.fail();
    this.at = p;
    this.pos = p + <usize>this.len;
    if (this.kind == FACT_RECORD && !this.checked && !validRecord(this.at, this.len)) return this.fail();
    return true;
  }

  /** The current entry's payload as a new buffer. */
  payload(): ArrayBuffer {
    const out = new ArrayBuffer(<i32>this.len);
    memory.copy(changetype<usize>(out), this.at, <usize>this.len);
    return out;
  }

  private fail(): bool {
    this.ok = false;
    return false;
  }
}

// Made on first use: most modules that import this file never read it.
// @ts-ignore: decorator
@lazy const RESPONSE_CODE = new PropertyReader(path("response\0code"), 16);

/** The status the client got (`response.code`, an int64 in 8 bytes), or -1 when unknown. */
export function responseCode(): i64 {
  const code = RESPONSE_CODE;
  return code.read() && code.len == 8 ? load<i64>(code.ptr) : -1;
}

/**
 * This stream's `ai.facts`, read into a region of its own and walked in place: nothing is
 * allocated per request. One per VM; a read is valid until the next.
 */
export class FactsProperty {
  private readonly value: PropertyReader = new PropertyReader(FACTS, 512);
  private readonly reader: FactsReader = new FactsReader();

  /** A reader over the value when present and well-formed, else null (read the individual keys). */
  read(): FactsReader | null {
    const v = this.value;
    return v.read() && this.reader.resetAt(v.ptr, v.len).valid() ? this.reader : null;
  }
}

/**
 * Moves `r` to the record whose id is `id` (a writer's key prefix: "ai." for ai-proxy's); false
 * when there is none. A value holds one entry per kind and id (beginFact replaces).
 */
export function findRecord(r: FactsReader, id: ArrayBuffer): bool {
  while (r.next()) if (r.kind == FACT_RECORD && sameId(r, changetype<usize>(id), <u32>id.byteLength)) return true;
  return false;
}

/** A record payload holds the numbers and exactly LABEL_FIELDS fields, nothing after them. */
function validRecord(at: usize, len: u32): bool {
  if (len < <u32>R_LABELS) return false;
  let p = at + R_LABELS;
  const end = at + <usize>len;
  for (let i = 0; i < LABEL_FIELDS; i++) {
    if (end - p < 4) return false;
    const n = load<u32>(p);
    p += 4;
    if (<u64>(end - p) < <u64>n) return false;
    p += <usize>n;
  }
  return p == end;
}

/** The start of label field `i` of the record payload at `at` (a validated one). */
export function labelAt(at: usize, i: i32): usize {
  let p = at + R_LABELS;
  for (let k = 0; k < i; k++) p += 4 + <usize>load<u32>(p);
  return p;
}

/** Whether the id of the reader's entry is the `n` bytes at `id`. */
function sameId(r: FactsReader, id: usize, n: u32): bool {
  return r.idLen == n && memory.compare(r.idAt, id, <usize>n) == 0;
}

/**
 * Starts a new `ai.facts` value at the end of `b`: the version, every entry of the current value
 * but the one of `kind` and `id` (the `idLen` UTF-8 bytes at `id`), then that entry's head.
 * Returns where the payload length goes (endFact). A read, then a write: the filters of one
 * stream run one at a time.
 */
export function beginFact(b: ByteBuilder, kind: u8, id: usize, idLen: u32): i32 {
  const cur = property(FACTS);
  // Which earlier entries stay: all but this kind and id's, and none of a malformed value.
  let keep: usize = 0;
  if (cur != null) {
    const r = reader.reset(cur);
    while (r.next()) if (r.kind != kind || !sameId(r, id, idLen)) keep += 9 + <usize>r.idLen + <usize>r.len;
    if (!r.ok) keep = 0;
  }
  b.ensure(<i32>(1 + keep + 9 + <usize>idLen));
  let p = b.buf.dataStart + <usize>b.len;
  store<u8>(p++, FACTS_VERSION);
  if (keep > 0) {
    const r = reader.reset(cur!);
    while (r.next()) {
      if (r.kind == kind && sameId(r, id, idLen)) continue;
      const n = 9 + <usize>r.idLen + <usize>r.len;
      memory.copy(p, r.idAt - 5, n);
      p += n;
    }
  }
  store<u8>(p, kind);
  store<u32>(p + 1, idLen);
  memory.copy(p + 5, id, idLen);
  p += 5 + <usize>idLen;
  const lenAt = <i32>(p - b.buf.dataStart);
  b.len = lenAt + 4;
  return lenAt;
}

/**
 * Ends the value begun at `from` of `b` (its payload written after beginFact's head, whose
 * length goes at `lenAt`) and sets it as `ai.facts`. Returns the host status.
 */
export function endFact(b: ByteBuilder, from: i32, lenAt: i32): i32 {
  const base = b.buf.dataStart;
  store<u32>(base + <usize>lenAt, <u32>(b.len - lenAt - 4));
  return proxy_set_property(changetype<usize>(FACTS), FACTS.byteLength, base + <usize>from, <usize>(b.len - from));
}

// putFact's buffer and the reader of the value it replaces (one of each per VM).
let factBuf = new ByteBuilder(256);
const reader = new FactsReader();

/**
 * Sets this stream's entry of `kind` and `id` in `ai.facts`, keeping every other writer's.
 * Returns the host status.
 */
export function putFact(ctx: HttpContext, kind: u8, id: string, payload: ArrayBuffer): i32 {
  const b = factBuf;
  b.reset();
  const idBytes = String.UTF8.encode(id);
  const lenAt = beginFact(b, kind, changetype<usize>(idBytes), <u32>idBytes.byteLength);
  b.ptr(changetype<usize>(payload), payload.byteLength);
  const s = endFact(b, 0, lenAt);
  if (b.buf.length > FACT_KEEP) factBuf = new ByteBuilder(256);
  return s;
}
/** Past this a grown buffer is dropped after use rather than kept for the VM's life. */
const FACT_KEEP = 64 << 10;

/** Adds a comma-separated list fact (content-safety categories, denied providers). */
export function putNamesFact(ctx: HttpContext, kind: u8, names: string): i32 {
  return putFact(ctx, kind, "", String.UTF8.encode(names));
}
