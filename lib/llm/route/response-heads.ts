// The upstream response headers ai-proxy decides on, read in one walk over the bytes the header
// view holds (headers.ts) instead of one lookup each: the status, content type, length and
// encoding; whether a value holds a credential; and which of the changes the filter makes
// would change nothing (removing an absent header, replacing a lone header by its own value),
// so those are not even looked up again. Where the view holds no bytes, or once a credential
// has been masked, every answer comes from the view as before and no change is skipped here
// (the view still skips its own no-ops). test/ai-proxy-response-heads.test.ts compares both.
//
// The changes that remain are separate host calls, not one set_header_map_pairs: Envoy's
// Context::setHeaderMapPairs (source/extensions/common/wasm/context.cc) removes every key of
// the map and adds each pair back (addCopy), so one batched call rebuilds a whole answer's
// headers (twenty or so from OpenAI) to save one or two calls, and the usual answer needs one
// change (the model header) anyway.

import { HeaderView } from "./headers";
import { Secrets } from "../redact";
import { bytesAre } from "../../json/raw";

/** The response header naming provider/model (Kong's X-Kong-LLM-Model). */
export const MODEL_HEADER = "x-ai-gateway-llm-model";

// The headers read, by slot. Their names have distinct lengths: a name is told by its length,
// then checked byte for byte.
export const H_STATUS = 0;
export const H_CONTENT_TYPE = 1;
export const H_CONTENT_LENGTH = 2;
export const H_CONTENT_ENCODING = 3;
export const H_SET_COOKIE = 4;
export const H_CACHE_CONTROL = 5;
export const H_MODEL = 6;
const NAMES: StaticArray<string> = [":status", "content-type", "content-length", "content-encoding", "set-cookie", "cache-control", MODEL_HEADER];
const SLOTS = 7;

/** The slot of the lower-case name at p[0, n), or -1. */
function slotOf(p: usize, n: usize): i32 {
  let k = -1;
  if (n == 7) k = H_STATUS;
  else if (n == 12) k = H_CONTENT_TYPE;
  else if (n == 14) k = H_CONTENT_LENGTH;
  else if (n == 16) k = H_CONTENT_ENCODING;
  else if (n == 10) k = H_SET_COOKIE;
  else if (n == 13) k = H_CACHE_CONTROL;
  else if (n == 22) k = H_MODEL;
  return k >= 0 && bytesAre(p, 0, <i32>n, unchecked(NAMES[k])) ? k : -1;
}

export function isAscii(s: string): bool {
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) if (load<u16>(p + (<usize>i << 1)) >= 0x80) return false;
  return true;
}

/** Whether the n bytes at p are the UTF-8 of `value`: 1 yes, 0 no, -1 not told here (`value` is not ASCII). */
function asciiIs(p: usize, n: i32, value: string): i32 {
  if (n != value.length) return isAscii(value) ? 0 : -1;
  const sp = changetype<usize>(value);
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u16>(sp + (<usize>i << 1));
    if (c >= 0x80) return -1;
    // Every character before this one was ASCII, so this byte is where this character's UTF-8 starts.
    if (c != <u32>load<u8>(p + <usize>i)) return 0;
  }
  return 1;
}

export class ResponseHeads {
  private h: HeaderView | null = null;
  /** The answers come from the walk (else from the view). */
  private fromWalk: bool = false;
  /** The walk found a credential in a value. */
  private secret: bool = false;
  // Per slot: the number of entries, and the first one's value (in the view's bytes).
  private count: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private at: StaticArray<usize> = new StaticArray<usize>(SLOTS);
  private len: StaticArray<u32> = new StaticArray<u32>(SLOTS);

  /** Reads `h` (fast false: no walk, every answer from the view: the reference the walk is tested against). */
  read(h: HeaderView, sec: Secrets, fast: bool = true): ResponseHeads {
    this.h = h;
    this.secret = false;
    const e = fast ? h.entries() : null;
    this.fromWalk = e != null;
    if (e == null) return this;
    const count = changetype<usize>(this.count);
    memory.fill(count, 0, SLOTS << 2);
    const at = changetype<usize>(this.at);
    const len = changetype<usize>(this.len);
    // Values shorter than every secret cannot hold one (the scan would not start).
    const shortest = sec.empty ? <usize>-1 : <usize>sec.minLen;
    for (let ok = e.first(); ok; ok = e.next()) {
      // Each value on its own, as the view's redaction masks it.
      if (e.valueLen >= shortest && !this.secret && sec.found(e.valueAt, <i32>e.valueLen)) this.secret = true;
      const k = slotOf(e.keyAt, e.keyLen);
      if (k < 0) continue;
      const c = count + (<usize>k << 2);
      const n = load<u32>(c);
      store<u32>(c, n + 1);
      if (n > 0) continue;
      store<usize>(at + (<usize>k << alignof<usize>()), e.valueAt);
      store<u32>(len + (<usize>k << 2), <u32>e.valueLen);
    }
    return this;
  }

  /** Whether the answers come from the walk (tests: absent/single are exact then). */
  get walked(): bool {
    return this.fromWalk;
  }

  /** Masks the credentials in every value (HeaderView#redact); from then on the view answers. */
  redact(sec: Secrets): void {
    if (this.fromWalk && !this.secret) return; // the view would find none and change nothing
    this.fromWalk = false;
    this.h!.redact(sec);
  }

  /** :status as a number (0 when absent; as I32.parseInt reads it otherwise). */
  status(): u32 {
    if (!this.fromWalk) {
      const st = this.h!.get(":status");
      return st != null ? <u32>I32.parseInt(st) : 0;
    }
    if (unchecked(this.count[H_STATUS]) == 0) return 0;
    const p = unchecked(this.at[H_STATUS]);
    const n = unchecked(this.len[H_STATUS]);
    if (n == 3) {
      const a = <u32>load<u8>(p) - 0x30;
      const b = <u32>load<u8>(p, 1) - 0x30;
      const c = <u32>load<u8>(p, 2) - 0x30;
      if (a < 10 && b < 10 && c < 10) return a * 100 + b * 10 + c;
    }
    return <u32>I32.parseInt(String.UTF8.decodeUnsafe(p, <usize>n));
  }

  /** The first value of slot `k`'s header, or null (HeaderView#get). */
  get(k: i32): string | null {
    if (!this.fromWalk) return this.h!.get(unchecked(NAMES[k]));
    if (unchecked(this.count[k]) == 0) return null;
    return String.UTF8.decodeUnsafe(unchecked(this.at[k]), <usize>unchecked(this.len[k]));
  }

  /** Whether the first value of slot `k`'s header is `value` (without making the string when read by the walk). */
  is(k: i32, value: string): bool {
    if (this.fromWalk) {
      if (unchecked(this.count[k]) == 0) return false;
      const r = this.firstIs(k, value);
      if (r >= 0) return r == 1;
    }
    const v = this.get(k);
    return v != null && v == value;
  }

  /** Removing slot `k`'s header would change nothing: the walk saw none. */
  absent(k: i32): bool {
    return this.fromWalk && unchecked(this.count[k]) == 0;
  }

  /** Replacing slot `k`'s header by `value` would change nothing: the walk saw exactly one, with that value. */
  single(k: i32, value: string): bool {
    return this.fromWalk && unchecked(this.count[k]) == 1 && this.firstIs(k, value) == 1;
  }

  /** asciiIs of the first value of slot `k`. */
  private firstIs(k: i32, value: string): i32 {
    return asciiIs(unchecked(this.at[k]), <i32>unchecked(this.len[k]), value);
  }
}
