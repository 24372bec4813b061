// gzip (RFC 1952) around DEFLATE (RFC 1951), decoded in memory, for upstream bodies a filter
// must read (ai-response-transformer; Kong inflates a gzip upstream body too). Canonical
// Huffman decoding in the manner of zlib's "puff": no recursion, every read bounds-checked, an
// output limit, and the CRC-32 and length of the trailer checked. Never traps on any input.

/** Whether a content-encoding value is gzip (x-gzip is its old name). */
export function isGzip(encoding: string): bool {
  const e = encoding.trim().toLowerCase();
  return e == "gzip" || e == "x-gzip";
}

export class GunzipResult {
  constructor(
    public data: Uint8Array | null,
    public error: string | null,
  ) {}
}

const LEN_BASE: u16[] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: u8[] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: u16[] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA: u8[] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER: u8[] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: symbol counts per length and symbols in code order. */
class Huffman {
  count: Int32Array = new Int32Array(16);
  symbol: Int32Array;
  constructor(n: i32) {
    this.symbol = new Int32Array(n);
  }

  /** Builds from code lengths; false when over-subscribed. Incomplete codes are allowed (puff's rule for one-code distances). */
  build(lengths: Int32Array, n: i32): bool {
    const count = this.count;
    count.fill(0);
    for (let i = 0; i < n; i++) count[lengths[i]]++;
    if (count[0] == n) return true;
    let left = 1;
    for (let len = 1; len < 16; len++) {
      left <<= 1;
      left -= count[len];
      if (left < 0) return false;
    }
    const offs = new Int32Array(16);
    for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
    for (let i = 0; i < n; i++) if (lengths[i] != 0) this.symbol[offs[lengths[i]]++] = i;
    return true;
  }
}

class Inflater {
  pos: i32 = 0;
  bitBuf: u32 = 0;
  bitCnt: i32 = 0;
  out: Uint8Array = new Uint8Array(1024);
  outLen: i32 = 0;
  error: string | null = null;

  constructor(
    private src: Uint8Array,
    private end: i32,
    private limit: i32,
  ) {}

  bits(need: i32): i32 {
    let val = this.bitBuf;
    while (this.bitCnt < need) {
      if (this.pos >= this.end) {
        this.error = "the compressed data ends early";
        return 0;
      }
      val |= (<u32>this.src[this.pos++]) << this.bitCnt;
      this.bitCnt += 8;
    }
    this.bitBuf = val >> need;
    this.bitCnt -= need;
    return <i32>(val & ((1 << need) - 1));
  }

  put(b: u8): bool {
    if (this.outLen >= this.limit) {
      this.error = "the inflated body is larger than " + this.limit.toString() + " bytes";
      return false;
    }
    if (this.outLen == this.out.length) {
      const n = new Uint8Array(min<i32>(this.out.length * 2, this.limit));
      memory.copy(n.dataStart, this.out.dataStart, <usize>this.outLen);
      this.out = n;
    }
    this.out[this.outLen++] = b;
    return true;
  }

  decode(h: Huffman): i32 {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.bits(1);
      if (this.error != null) return -1;
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    this.error = "an invalid Huffman code";
    return -1;
  }

  stored(): bool {
    this.bitBuf = 0;
    this.bitCnt = 0;
    if (this.pos + 4 > this.end) {
      this.error = "the compressed data ends early";
      return false;
    }
    const s = this.src;
    const len = <i32>s[this.pos] | (<i32>s[this.pos + 1] << 8);
    const nlen = <i32>s[this.pos + 2] | (<i32>s[this.pos + 3] << 8);
    this.pos += 4;
    if (len != (~nlen & 0xffff)) {
      this.error = "a stored block's length check failed";
      return false;
    }
    if (this.pos + len > this.end) {
      this.error = "the compressed data ends early";
      return false;
    }
    for (let i = 0; i < len; i++) if (!this.put(s[this.pos + i])) return false;
    this.pos += len;
    return true;
  }

  codes(lencode: Huffman, distcode: Huffman): bool {
    while (true) {
      let sym = this.decode(lencode);
      if (sym < 0) return false;
      if (sym < 256) {
        if (!this.put(<u8>sym)) return false;
      } else if (sym == 256) {
        return true;
      } else {
        sym -= 257;
        if (sym >= 29) {
          this.error = "an invalid length code";
          return false;
        }
        const len = <i32>LEN_BASE[sym] + this.bits(LEN_EXTRA[sym]);
        const ds = this.decode(distcode);
        if (ds < 0) return false;
        if (ds >= 30) {
          this.error = "an invalid distance code";
          return false;
        }
        const dist = <i32>DIST_BASE[ds] + this.bits(DIST_EXTRA[ds]);
        if (this.error != null) return false;
        if (dist > this.outLen) {
          this.error = "a distance points before the start";
          return false;
        }
        for (let i = 0; i < len; i++) if (!this.put(this.out[this.outLen - dist])) return false;
      }
    }
  }

  fixed(): bool {
    const lengths = new Int32Array(288);
    for (let i = 0; i < 144; i++) lengths[i] = 8;
    for (let i = 144; i < 256; i++) lengths[i] = 9;
    for (let i = 256; i < 280; i++) lengths[i] = 7;
    for (let i = 280; i < 288; i++) lengths[i] = 8;
    const lc = new Huffman(288);
    lc.build(lengths, 288);
    const dl = new Int32Array(30);
    dl.fill(5);
    const dc = new Huffman(30);
    dc.build(dl, 30);
    return this.codes(lc, dc);
  }

  dynamic(): bool {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (this.error != null) return false;
    if (nlen > 286 || ndist > 30) {
      this.error = "bad dynamic block counts";
      return false;
    }
    const lengths = new Int32Array(320);
    for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]] = this.bits(3);
    if (this.error != null) return false;
    const lc = new Huffman(19);
    if (!lc.build(lengths, 19)) {
      this.error = "bad code-length code";
      return false;
    }
    let index = 0;
    const all = new Int32Array(320);
    while (index < nlen + ndist) {
      let sym = this.decode(lc);
      if (sym < 0) return false;
      if (sym < 16) {
        all[index++] = sym;
        continue;
      }
      let len = 0;
      if (sym == 16) {
        if (index == 0) {
          this.error = "a repeat with no previous length";
          return false;
        }
        len = all[index - 1];
        sym = 3 + this.bits(2);
      } else if (sym == 17) sym = 3 + this.bits(3);
      else sym = 11 + this.bits(7);
      if (this.error != null) return false;
      if (index + sym > nlen + ndist) {
        this.error = "too many code lengths";
        return false;
      }
      while (sym-- > 0) all[index++] = len;
    }
    if (all[256] == 0) {
      this.error = "no end-of-block code";
      return false;
    }
    const lencode = new Huffman(286);
    if (!lencode.build(all, nlen)) {
      this.error = "bad literal/length code";
      return false;
    }
    const dl = new Int32Array(30);
    for (let i = 0; i < ndist; i++) dl[i] = all[nlen + i];
    const distcode = new Huffman(30);
    if (!distcode.build(dl, ndist)) {
      this.error = "bad distance code";
      return false;
    }
    return this.codes(lencode, distcode);
  }

  run(): bool {
    let last = 0;
    do {
      last = this.bits(1);
      const type = this.bits(2);
      if (this.error != null) return false;
      let ok = false;
      if (type == 0) ok = this.stored();
      else if (type == 1) ok = this.fixed();
      else if (type == 2) ok = this.dynamic();
      else this.error = "an invalid block type";
      if (!ok) return false;
    } while (last == 0);
    return true;
  }
}

let crcTable: Uint32Array | null = null;

function crc32(b: Uint8Array, n: i32): u32 {
  let t = crcTable;
  if (t == null) {
    t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = <u32>i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[i] = c;
    }
    crcTable = t;
  }
  let c: u32 = 0xffffffff;
  for (let i = 0; i < n; i++) c = unchecked(t[(c ^ b[i]) & 0xff]) ^ (c >>> 8);
  return c ^ 0xffffffff;
}

function readU32(b: Uint8Array, i: i32): u32 {
  return <u32>b[i] | (<u32>b[i + 1] << 8) | (<u32>b[i + 2] << 16) | (<u32>b[i + 3] << 24);
}

/** Inflates one gzip member; `limit` caps the output (a small body can inflate enormously). */
export function gunzip(src: Uint8Array, limit: i32): GunzipResult {
  const n = src.length;
  if (n < 18 || src[0] != 0x1f || src[1] != 0x8b) return new GunzipResult(null, "not gzip data (bad magic bytes)");
  if (src[2] != 8) return new GunzipResult(null, "unknown gzip compression method");
  const flags = src[3];
  let p = 10;
  if (flags & 4) {
    if (p + 2 > n) return new GunzipResult(null, "truncated gzip header");
    p += 2 + (<i32>src[p] | (<i32>src[p + 1] << 8));
  }
  if (flags & 8) {
    while (p < n && src[p] != 0) p++;
    p++;
  }
  if (flags & 16) {
    while (p < n && src[p] != 0) p++;
    p++;
  }
  if (flags & 2) p += 2;
  if (p + 8 > n) return new GunzipResult(null, "truncated gzip header");
  const inf = new Inflater(src, n - 8, limit);
  inf.pos = p;
  if (!inf.run()) return new GunzipResult(null, inf.error != null ? inf.error! : "invalid deflate data");
  const out = inf.out.slice(0, inf.outLen);
  if (readU32(src, n - 8) != crc32(out, out.length)) return new GunzipResult(null, "the gzip CRC-32 does not match");
  if (readU32(src, n - 4) != <u32>out.length) return new GunzipResult(null, "the gzip length does not match");
  return new GunzipResult(out, null);
}
