// A headers callback's reads and changes of one header map. The map is read once
// (get_header_map_pairs) and kept as the host serialised it: a read looks the name up in those
// bytes and makes a string only for the value it returns, and a change that would change
// nothing (removing an absent header, replacing a lone header with its own value) is skipped.
// One pairs call and a byte walk cost less than the separate get/remove calls they replace
// (the request side made 3 reads and 7 removes, 6 of them of absent headers).
//
// The changes that are sent stay one call each, not one set_header_map_pairs: Envoy's
// Context::setHeaderMapPairs (source/extensions/common/wasm/context.cc) removes every key of the
// map one by one and adds each pair back (addCopy), so batching a request's two changes
// (:authority, the credential) would rebuild all of a client's headers to save one call.
//
// After the filter changes a header, the bytes no longer tell that header's state: reads of
// it go to the host (get_header_map_value) and its removals and replacements are always sent.
// The response side masks credentials in every value: when a value holds one, the map is
// decoded into pairs (the rare case) and those are kept in step with the filter's changes
// instead.
//
// The snapshot follows the host map's rules (host/http/header-map.ts, Envoy's HeaderMapImpl):
// names are lower-case in the map, a read answers the first entry, a replacement sets the
// first entry and drops the others (or appends), a removal drops every entry.

import { HttpContext } from "../../runtime";
import { HeaderPair, deserializePairs, pairsCount, pairsCountAt } from "../../abi/pairs";
import { MapType } from "../../abi/enums";
import { getHeaderPairsLent } from "../../abi/headers";
import { LentRegion, lentSize } from "../../abi/memory";
import { Secrets } from "../redact";

/**
 * `name` lower-cased (itself when it has no upper-case letter: no copy), with its UTF-8 length
 * in `keyLen`: one pass over a plain ASCII name for both. A request looks a dozen names up:
 * string literals found plain are remembered by address, and the last name that needed
 * lower-casing (the configured credential header, "Authorization") with its result.
 */
function keyOf(name: string): string {
  const p = changetype<usize>(name);
  const n = name.length;
  const slot = (p >> 4) & (PLAIN_SLOTS - 1);
  if (unchecked(plainNames[slot]) == p) {
    keyLen = <usize>n;
    return name;
  }
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c - 0x41 < 26 || c >= 0x80) {
      if (name != loweredFrom) {
        lowered = name.toLowerCase();
        loweredLen = <usize>String.UTF8.byteLength(lowered);
        loweredFrom = name;
      }
      keyLen = loweredLen;
      return lowered;
    }
  }
  // A literal lives in static memory (below the heap) for the module's life: its address names it.
  if (p < __heap_base) unchecked((plainNames[slot] = p));
  keyLen = <usize>n;
  return name;
}
const PLAIN_SLOTS = 32;
/** Addresses of string literals known plain (lower-case ASCII), direct-mapped; 0: empty. */
const plainNames = new StaticArray<usize>(PLAIN_SLOTS);
// keyOf's last lower-casing: equal input, equal answer.
let loweredFrom: string | null = null;
let lowered: string = "";
let loweredLen: usize = 0;
let keyLen: usize = 0;

/** UTF-8 length of `s`: its length when ASCII (header names, nearly every value). */
function utf8Length(s: string): usize {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; i++) if (load<u16>(p + (i << 1)) >= 0x80) return <usize>String.UTF8.byteLength(s);
  return n;
}

/** Whether the `n` bytes at `p` are the UTF-8 of `s`, whose UTF-8 length is `n`. */
function bytesAre(p: usize, n: usize, s: string): bool {
  const src = changetype<usize>(s);
  if (<usize>s.length == n) {
    // ASCII: compared without encoding.
    for (let i: usize = 0; i < n; i++) if (<u32>load<u16>(src + (i << 1)) != <u32>load<u8>(p + i)) return false;
    return true;
  }
  const enc = String.UTF8.encode(s);
  return memory.compare(p, changetype<usize>(enc), n) == 0;
}

/** Names changed through the view being used (one callback's view at a time: reused). */
const touched = new Array<string>();
/** touched.length, kept beside it: isTouched runs on every lookup. */
let touchedN: i32 = 0;

/** Every entry of a header map as get_header_map_pairs serialised it (lib/abi/pairs.ts). */
/** A side's first region for its pairs, and the most it grows to (larger maps get a buffer of their own). */
const REGION_FIRST = 1024;
const REGION_MAX = 16384;

class RawPairs {
  /** Kept alive while the view is in use: `base` points into it. */
  private buf: ArrayBuffer = EMPTY;
  /** The bytes' length (buf is the side's region, longer than them, when they were read into it). */
  private len: usize = 0;
  /** Where this side's pairs are read (lent to malloc): kept across callbacks, grown to the largest map seen. */
  readonly region: LentRegion = new LentRegion(REGION_FIRST, REGION_MAX);
  private base: usize = 0;
  private n: u32 = 0;
  // The cursor (first()/next()): the entry's index, key and value.
  private i: u32 = 0;
  private sizes: usize = 0;
  private data: usize = 0;
  keyAt: usize = 0;
  keyLen: usize = 0;
  valueAt: usize = 0;
  valueLen: usize = 0;

  /**
   * One bit per (name length, first byte) class of the names present (nameBit): a lookup of a
   * name whose bit is clear is answered "absent" without a walk (most lookups are of absent names).
   */
  present: u64 = 0;

  /** Reads `buf`'s first `len` bytes, `n` well-formed entries (one of each side is reused: a VM runs one callback at a time). */
  reset(buf: ArrayBuffer, len: usize, n: u32): RawPairs {
    this.buf = buf;
    this.len = len;
    this.n = n;
    const base = changetype<usize>(buf);
    this.base = base;
    let bits: u64 = 0;
    let sizes = base + 4;
    let data = sizes + <usize>n * 8;
    for (let i: u32 = 0; i < n; i++) {
      const kl = <usize>load<u32>(sizes);
      bits |= nameBit(kl, kl > 0 ? <u32>load<u8>(data) : 0);
      data += kl + <usize>load<u32>(sizes + 4) + 2;
      sizes += 8;
    }
    this.present = bits;
    return this;
  }

  /** Moves the cursor to entry `from`; false when there is none. */
  first(from: u32 = 0): bool {
    this.i = 0;
    this.sizes = this.base + 4;
    this.data = this.base + 4 + <usize>this.n * 8;
    for (let k: u32 = 0; k < from; k++) if (!this.next()) return false;
    return this.next();
  }

  /** Moves the cursor to the next entry; false past the last. */
  next(): bool {
    if (this.i >= this.n) return false;
    const kl = <usize>load<u32>(this.sizes);
    const vl = <usize>load<u32>(this.sizes + 4);
    this.sizes += 8;
    this.keyAt = this.data;
    this.keyLen = kl;
    this.valueAt = this.data + kl + 1;
    this.valueLen = vl;
    this.data = this.valueAt + vl + 1;
    this.i++;
    return true;
  }

  /** The value of entry `from` or a later one named `key` (lower-case, `kn` UTF-8 bytes): its pointer, or 0 when none. Its length goes to `foundLen`. */
  find(key: string, kn: usize, from: u32 = 0): usize {
    // No name of this length and first byte: absent (first byte: a name's UTF-8 starts with
    // its first code unit's byte when ASCII; a non-ASCII first unit is class 0x80 both ways).
    const f = kn > 0 ? <u32>load<u16>(changetype<usize>(key)) : 0;
    if ((this.present & nameBit(kn, f < 0x80 ? f : 0x80)) == 0) return 0;
    // The cursor's walk in locals (the cursor is left alone): a request makes a dozen finds.
    const n = this.n;
    let sizes = this.base + 4;
    let data = sizes + <usize>n * 8;
    // An ASCII name (its length is its UTF-8 length) is first told apart by its first byte.
    const ascii = <usize>key.length == kn && kn > 0;
    const c0 = ascii ? <u32>load<u16>(changetype<usize>(key)) : 0;
    for (let i: u32 = 0; i < n; i++) {
      const kl = <usize>load<u32>(sizes);
      const vl = <usize>load<u32>(sizes + 4);
      sizes += 8;
      if (kl == kn && i >= from && (!ascii || <u32>load<u8>(data) == c0) && bytesAre(data, kn, key)) {
        foundIndex = i;
        foundLen = vl;
        return data + kl + 1;
      }
      data += kl + vl + 2;
    }
    return 0;
  }

  /** Whether any value holds one of `sec`'s secrets (each value on its own, as a header value is masked). */
  holdsSecret(sec: Secrets): bool {
    for (let ok = this.first(); ok; ok = this.next()) if (sec.found(this.valueAt, <i32>this.valueLen)) return true;
    return false;
  }

  pairs(): HeaderPair[] {
    const b = this.buf;
    return deserializePairs(<usize>b.byteLength == this.len ? b : b.slice(0, <i32>this.len))!; // well-formed (pairsCount)
  }
}

/** The bloom bit of a name of `len` UTF-8 bytes whose first byte is `first` (non-ASCII bytes as 0x80). */
@inline function nameBit(len: usize, first: u32): u64 {
  return <u64>1 << ((<u64>len * 7 + <u64>(first < 0x80 ? first : 0x80)) & 63);
}

/** The classes (nameBit) of lower-case ASCII `names`, for removeEach. */
export function namesBits(names: string[]): u64 {
  let bits: u64 = 0;
  for (let i = 0; i < names.length; i++) {
    const s = unchecked(names[i]);
    bits |= nameBit(<usize>s.length, s.length > 0 ? <u32>s.charCodeAt(0) : 0);
  }
  return bits;
}

/** snapshotValue's "ask the host or the decoded pairs" (no address is this). */
const NOT_IN_SNAPSHOT: usize = <usize>-1;

// find()'s second answers (a VM runs one callback at a time).
let foundIndex: u32 = 0;
let foundLen: usize = 0;

const EMPTY = new ArrayBuffer(0);
let requestView: HeaderView | null = null;
let responseView: HeaderView | null = null;
const REQUEST_RAW = new RawPairs();
const RESPONSE_RAW = new RawPairs();

/** A header map's pairs, read in place into `into`, or null when the call failed or the bytes are malformed. */
function rawPairs(map: i32, into: RawPairs): RawPairs | null {
  const region = into.region.buf;
  const buf = getHeaderPairsLent(map, region);
  if (buf == null) return null;
  if (buf === region) {
    const len = lentSize();
    const n = pairsCountAt(changetype<usize>(buf), len);
    return n >= 0 ? into.reset(buf, len, <u32>n) : null;
  }
  const len = <usize>buf.byteLength;
  // Larger than the region: the next map this size is read into a region that fits.
  into.region.fit(len);
  const n = pairsCount(buf);
  return n >= 0 ? into.reset(buf, len, <u32>n) : null;
}

export class HeaderView {
  /** The bytes read at the start, or null (direct host calls, or `pairs`). */
  private raw: RawPairs | null;

  constructor(
    private ctx: HttpContext,
    private request: bool,
    /** A decoded snapshot kept in step with the changes, or null. */
    public pairs: HeaderPair[] | null,
  ) {
    touched.length = 0;
    touchedN = 0;
    this.raw = null;
  }

  /** Starts a view of `ctx`'s map (views are reused: one callback's at a time). */
  private begin(ctx: HttpContext, raw: RawPairs | null): HeaderView {
    touched.length = 0;
    touchedN = 0;
    this.ctx = ctx;
    this.pairs = null;
    this.raw = raw;
    return this;
  }

  /** The request headers of `ctx` as they are now (valid until the next view is made). */
  static request(ctx: HttpContext): HeaderView {
    let v = requestView;
    if (v == null) requestView = v = new HeaderView(ctx, true, null);
    return v.begin(ctx, rawPairs(MapType.HttpRequestHeaders, REQUEST_RAW));
  }

  /** Each read and change its own host call (the reference the snapshot is tested against). */
  static direct(ctx: HttpContext, request: bool): HeaderView {
    return new HeaderView(ctx, request, null);
  }

  /** The map decoded into pairs up front (the reference the snapshot is tested against). */
  static decoded(ctx: HttpContext, request: bool): HeaderView {
    return new HeaderView(ctx, request, request ? ctx.getRequestHeaders() : ctx.getResponseHeaders());
  }

  /** The response headers of `ctx` as they are now (valid until the next view is made). */
  static response(ctx: HttpContext): HeaderView {
    let v = responseView;
    if (v == null) responseView = v = new HeaderView(ctx, false, null);
    return v.begin(ctx, rawPairs(MapType.HttpResponseHeaders, RESPONSE_RAW));
  }

  /**
   * Masks `sec`'s credentials in every header value (an upstream may echo the key in any of
   * them); the changed map is written back whole. Call before any other change.
   */
  redact(sec: Secrets): void {
    if (sec.empty) return;
    const raw = this.raw;
    let hs: HeaderPair[];
    if (raw != null && touchedN == 0) {
      if (!raw.holdsSecret(sec)) return;
      hs = raw.pairs();
    } else {
      hs = this.pairs != null && raw == null ? this.pairs! : this.request ? this.ctx.getRequestHeaders() : this.ctx.getResponseHeaders();
    }
    let changed = false;
    for (let i = 0; i < hs.length; i++) {
      const h = unchecked(hs[i]);
      const v = sec.maskString(h.value);
      if (v != h.value) {
        h.value = v;
        changed = true;
      }
    }
    // From here on the decoded pairs are the snapshot.
    this.raw = null;
    this.pairs = hs;
    if (changed) {
      if (this.request) this.ctx.setRequestHeaders(hs);
      else this.ctx.setResponseHeaders(hs);
    }
  }

  private indexOf(ps: HeaderPair[], key: string, from: i32 = 0): i32 {
    for (let i = from, n = ps.length; i < n; i++) if (unchecked(ps[i]).key == key) return i;
    return -1;
  }

  private isTouched(key: string): bool {
    const n = touchedN;
    if (n == 0) return false;
    const base = touched.dataStart;
    const kp = changetype<usize>(key);
    const kn = key.length;
    for (let i = 0; i < n; i++) {
      const t = load<usize>(base + (<usize>i << alignof<usize>()));
      // Same string, or same length and code units (no call for the names that differ in length).
      if (t == kp || (changetype<string>(t).length == kn && memory.compare(t, kp, <usize>kn << 1) == 0)) return true;
    }
    return false;
  }

  private touch(key: string): void {
    if (!this.isTouched(key)) touchedN = touched.push(key);
  }

  /**
   * The first value of `name` in the snapshot: its address (its length in foundLen), 0 when
   * absent, or NOT_IN_SNAPSHOT when the snapshot cannot tell (no raw bytes, or a name the filter
   * changed).
   */
  private snapshotValue(name: string): usize {
    const raw = this.raw;
    if (raw == null) return NOT_IN_SNAPSHOT;
    const key = keyOf(name);
    if (this.isTouched(key)) return NOT_IN_SNAPSHOT;
    return raw.find(key, keyLen);
  }

  /** The first value of `name`, or null (as get_header_map_value answers). */
  get(name: string): string | null {
    const v = this.snapshotValue(name);
    if (v != NOT_IN_SNAPSHOT) return v != 0 ? String.UTF8.decodeUnsafe(v, foundLen) : null;
    const ps = this.pairs;
    if (ps == null) return this.request ? this.ctx.getRequestHeader(name) : this.ctx.getResponseHeader(name);
    const i = this.indexOf(ps, keyOf(name));
    return i >= 0 ? unchecked(ps[i]).value : null;
  }

  /**
   * Whether the first value of `name` holds the ASCII character `c`: 1 yes, 0 no, -1 when there
   * is no such header (without making the value's string).
   */
  holds(name: string, c: u8): i32 {
    const v = this.snapshotValue(name);
    if (v != NOT_IN_SNAPSHOT) {
      if (v == 0) return -1;
      for (let i: usize = 0, n = foundLen; i < n; i++) if (load<u8>(v + i) == c) return 1;
      return 0;
    }
    const s = this.get(name);
    if (s == null) return -1;
    return s.indexOf(String.fromCharCode(c)) >= 0 ? 1 : 0;
  }

  /** Whether the first value of `name` is `value` (get(name) == value, without making the string). */
  is(name: string, value: string): bool {
    const p = this.snapshotValue(name);
    if (p != NOT_IN_SNAPSHOT) return p != 0 && foundLen == utf8Length(value) && bytesAre(p, foundLen, value);
    const v = this.get(name);
    return v != null && v == value;
  }

  /** Replaces `name` (unless it already is exactly one entry with `value`). */
  replace(name: string, value: string): void {
    const ps = this.pairs;
    const raw = this.raw;
    let i = -1;
    let key = name;
    if (raw != null) {
      key = keyOf(name);
      const kn = keyLen;
      if (!this.isTouched(key)) {
        const v = raw.find(key, kn);
        if (v != 0 && foundLen == utf8Length(value) && bytesAre(v, foundLen, value) && raw.find(key, kn, foundIndex + 1) == 0) return;
      }
      this.touch(key);
    } else if (ps != null) {
      key = keyOf(name);
      i = this.indexOf(ps, key);
      if (i >= 0 && unchecked(ps[i]).value == value && this.indexOf(ps, key, i + 1) < 0) return;
    }
    if (this.request) this.ctx.replaceRequestHeader(name, value);
    else this.ctx.replaceResponseHeader(name, value);
    if (ps == null) return;
    if (i < 0) {
      ps.push(new HeaderPair(key, value));
      return;
    }
    unchecked(ps[i]).value = value;
    drop(ps, key, i + 1);
  }

  /**
   * remove() of each of `names`, lower-case ASCII names whose namesBits() are `bits`: when the
   * snapshot holds no name of their classes and the filter changed none of those classes, there
   * is nothing to remove, known without a lookup each.
   */
  removeEach(names: string[], bits: u64): void {
    const raw = this.raw;
    if (raw != null && (raw.present & bits) == 0 && !this.touchedIn(bits)) return;
    for (let i = 0, n = names.length; i < n; i++) this.remove(unchecked(names[i]));
  }

  /** Whether a name the filter changed may be of one of the classes in `bits` (any non-ASCII name may). */
  private touchedIn(bits: u64): bool {
    const base = touched.dataStart;
    for (let i = 0; i < touchedN; i++) {
      const t = load<string>(base + (<usize>i << alignof<usize>()));
      const n = t.length;
      if (utf8Length(t) != <usize>n || (bits & nameBit(<usize>n, n > 0 ? <u32>t.charCodeAt(0) : 0)) != 0) return true;
    }
    return false;
  }

  /** Removes every entry of `name` (unless there is none). */
  remove(name: string): void {
    const ps = this.pairs;
    const raw = this.raw;
    let key = name;
    if (raw != null) {
      key = keyOf(name);
      if (!this.isTouched(key) && raw.find(key, keyLen) == 0) return;
      this.touch(key);
    } else if (ps != null) {
      key = keyOf(name);
      if (this.indexOf(ps, key) < 0) return;
    }
    if (this.request) this.ctx.removeRequestHeader(name);
    else this.ctx.removeResponseHeader(name);
    if (ps != null) drop(ps, key, 0);
  }

  /**
   * The map's entries as read, for a reader that takes several headers in one walk (the
   * response side, response-heads.ts): a cursor (first()/next(), then keyAt/keyLen/valueAt/
   * valueLen). Null when the view holds no bytes or no longer follows them (after a change).
   */
  entries(): RawPairs | null {
    return touched.length == 0 ? this.raw : null;
  }
}

/** Drops the entries named `key` at or after `from`. */
function drop(ps: HeaderPair[], key: string, from: i32): void {
  let w = from;
  for (let r = from, n = ps.length; r < n; r++) {
    const p = unchecked(ps[r]);
    if (p.key == key) continue;
    unchecked((ps[w] = p));
    w++;
  }
  ps.length = w;
}
