// Redaction of the credentials the gateway holds from every byte it sends back or logs. An
// upstream may echo the key it received (OpenAI's "Incorrect API key provided: sk-…"), in a
// JSON error, a plain-text or HTML page, an SSE event or a header; a broken or hostile one
// may split it across body chunks. Each occurrence is overwritten with '*' of the same length,
// so a Content-Length already sent stays true and JSON stays valid.

import { ByteBuilder } from "./json-writer";

/** Secrets shorter than this are not redacted: a 1–3 byte value would mask ordinary text. */
export const MIN_SECRET_BYTES = 4;

const STAR: u8 = 0x2a;

/** The forms a secret takes on the wire besides itself: JSON-escaped (also with `\/`). A caller adds a URL form where one is used. */
export function secretForms(s: string): string[] {
  const out = new Array<string>();
  out.push(s);
  let json = "";
  let jsonSlash = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let e: string;
    if (c == 0x22) e = '\\"';
    else if (c == 0x5c) e = "\\\\";
    else if (c < 0x20) e = "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else e = String.fromCharCode(c);
    json += e;
    jsonSlash += c == 0x2f ? "\\/" : e;
  }
  out.push(json);
  out.push(jsonSlash);
  return out;
}

/** maskString's encoding buffer for strings up to MASK_SCRATCH_BYTES (a VM runs one callback at a time). */
const MASK_SCRATCH_BYTES = 4096;
const maskScratch = new ArrayBuffer(MASK_SCRATCH_BYTES);

/** The set of byte strings to mask. Immutable once built; shared by every stream of a config. */
export class Secrets {
  patterns: Uint8Array[] = [];
  /** 1 for a byte that starts some pattern. */
  private first: StaticArray<u8> = new StaticArray<u8>(256);
  /**
   * Set-Horspool shift by the last byte of a minLen window: how far the window may move
   * without passing a pattern's start (0: a pattern's first minLen bytes may end here).
   */
  private shift: StaticArray<u8> = new StaticArray<u8>(256);
  maxLen: i32 = 0;
  minLen: i32 = 0;

  /** Adds a secret and its wire forms (ignored when shorter than MIN_SECRET_BYTES or already known). */
  add(secret: string): void {
    const forms = secretForms(secret);
    for (let i = 0; i < forms.length; i++) this.addPattern(unchecked(forms[i]));
  }

  private addPattern(s: string): void {
    const b = Uint8Array.wrap(String.UTF8.encode(s));
    if (b.length < MIN_SECRET_BYTES) return;
    for (let i = 0; i < this.patterns.length; i++) if (sameBytes(unchecked(this.patterns[i]), b)) return;
    this.patterns.push(b);
    this.lastIn = this.lastOut = ""; // a remembered result may miss the new pattern
    unchecked((this.first[unchecked(b[0])] = 1));
    if (b.length > this.maxLen) this.maxLen = b.length;
    if (this.minLen == 0 || b.length < this.minLen) this.minLen = min<i32>(b.length, 255);
    this.buildShift();
  }

  private buildShift(): void {
    const m = this.minLen;
    for (let c = 0; c < 256; c++) unchecked((this.shift[c] = <u8>m));
    for (let k = 0; k < this.patterns.length; k++) {
      const pat = unchecked(this.patterns[k]);
      for (let j = 0; j < m; j++) {
        const c = unchecked(pat[j]);
        const d = <u8>(m - 1 - j);
        if (d < unchecked(this.shift[c])) unchecked((this.shift[c] = d));
      }
    }
  }

  get empty(): bool {
    return this.patterns.length == 0;
  }

  @inline private maybeFirst(c: u8): bool {
    return unchecked(this.first[c]) != 0;
  }

  /** Masks every occurrence in b[0, n) in place. Returns true when something was masked. */
  maskInPlace(p: usize, n: i32): bool {
    return this.scan(p, n, true);
  }

  /**
   * Finds the patterns in p[0, n) with Set-Horspool: look at the last byte of each minLen
   * window and verify only where it may end a pattern's first minLen bytes. With `mask`,
   * every occurrence becomes '*'; without, the first one returns true.
   */
  private scan(p: usize, n: i32, mask: bool): bool {
    const pats = this.patterns;
    const np = pats.length;
    if (np == 0) return false;
    const m = this.minLen;
    const shift = changetype<usize>(this.shift);
    let hit = false;
    let i = 0;
    while (i + m <= n) {
      const d = <i32>load<u8>(shift + <usize>load<u8>(p + <usize>(i + m - 1)));
      if (d > 0) {
        i += d;
        continue;
      }
      // The window's last byte may end a pattern's prefix: look closer only where a pattern starts.
      const c = load<u8>(p + <usize>i);
      if (this.maybeFirst(c)) for (let k = 0; k < np; k++) {
        const pat = unchecked(pats[k]);
        const len = pat.length;
        if (i + len <= n && load<u8>(pat.dataStart) == c && memory.compare(p + <usize>i, pat.dataStart, <usize>len) == 0) {
          if (!mask) return true;
          memory.fill(p + <usize>i, STAR, <usize>len);
          hit = true;
        }
      }
      i++;
    }
    return hit;
  }

  /** The length of the longest suffix of p[0, n) that is a proper prefix of some pattern (0 when none). */
  pendingTail(p: usize, n: i32): i32 {
    const most = min<i32>(this.maxLen - 1, n);
    for (let l = most; l > 0; l--) {
      const at = p + <usize>(n - l);
      if (!this.maybeFirst(load<u8>(at))) continue;
      for (let k = 0; k < this.patterns.length; k++) {
        const pat = unchecked(this.patterns[k]);
        if (pat.length > l && memory.compare(at, pat.dataStart, <usize>l) == 0) return l;
      }
    }
    return 0;
  }

  /** A masked copy of `b` (or `b` itself when nothing matched). */
  mask(b: Uint8Array): Uint8Array {
    if (this.patterns.length == 0 || b.length < MIN_SECRET_BYTES || !this.contains(b.dataStart, b.length)) return b;
    const out = b.slice(0);
    this.maskInPlace(out.dataStart, out.length);
    return out;
  }

  // maskString's last short input and its result: the same string (a route's model name,
  // cached by the provider) is masked once per response, and strings are immutable.
  private lastIn: string = "";
  private lastOut: string = "";

  /** `s` with every secret masked. */
  maskString(s: string): string {
    if (this.patterns.length == 0) return s;
    if (changetype<usize>(s) == changetype<usize>(this.lastIn)) return this.lastOut;
    const n = String.UTF8.byteLength(s);
    if (n < this.minLen) return s;
    if (n > MASK_SCRATCH_BYTES) {
      // A long string (a logged payload) gets its own copy: no body-sized buffer stays behind.
      const b = Uint8Array.wrap(String.UTF8.encode(s));
      if (!this.maskInPlace(b.dataStart, b.length)) return s;
      return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
    }
    // A short one (a model name, a header value) is encoded into a buffer kept for the next call.
    const p = changetype<usize>(maskScratch);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
    const out = this.maskInPlace(p, n) ? String.UTF8.decodeUnsafe(p, <usize>n) : s;
    this.lastIn = s;
    this.lastOut = out;
    return out;
  }

  /** Whether p[0, n) holds a secret (what maskInPlace would mask). */
  found(p: usize, n: i32): bool {
    return this.scan(p, n, false);
  }

  private contains(p: usize, n: i32): bool {
    return this.scan(p, n, false);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): bool {
  return a.length == b.length && memory.compare(a.dataStart, b.dataStart, <usize>a.length) == 0;
}

/**
 * Masks a body sent in chunks. A chunk's end that could be the start of a secret (at most
 * maxLen − 1 bytes, and only bytes that are a prefix of one) is held back and sent with the
 * next chunk, so a secret split at any byte is still found. The total length is unchanged.
 */
export class StreamRedactor {
  private carry: ByteBuilder = new ByteBuilder(64);
  /** True when the last push() returned other bytes than the chunk it got (masked, held back or released). */
  changed: bool = false;

  constructor(private secrets: Secrets) {}

  /**
   * What to send for this chunk; `eos` flushes the held-back tail. The chunk is masked in
   * place: pass a buffer the caller owns (a copy read from the host, a translator's output).
   */
  push(chunk: Uint8Array, eos: bool): Uint8Array {
    const s = this.secrets;
    this.changed = false;
    if (s.empty) return chunk;
    let buf = chunk;
    if (this.carry.len > 0) {
      this.carry.bytes(chunk);
      buf = this.carry.toBytes();
      this.carry.reset();
      this.changed = true;
    }
    const n = buf.length;
    if (n == 0) return buf;
    if (s.maskInPlace(buf.dataStart, n)) this.changed = true;
    if (eos) return buf;
    const keep = s.pendingTail(buf.dataStart, n);
    if (keep == 0) return buf;
    this.carry.range(buf, n - keep, n);
    this.changed = true;
    return buf.subarray(0, n - keep);
  }

  /** Bytes held back and not yet sent. */
  get held(): i32 {
    return this.carry.len;
  }
}
