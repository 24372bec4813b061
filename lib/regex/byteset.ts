// A set of bytes (0..255) as a 256-bit bitmap. PCRE without UTF mode matches bytes, so every
// character class, literal and `.` is one of these.

export class ByteSet {
  words: StaticArray<u32> = new StaticArray<u32>(8);

  static of(c: i32): ByteSet {
    const s = new ByteSet();
    s.add(c);
    return s;
  }

  static range(lo: i32, hi: i32): ByteSet {
    const s = new ByteSet();
    s.addRange(lo, hi);
    return s;
  }

  @inline has(c: i32): bool {
    return ((unchecked(this.words[(c >> 5) & 7]) >>> (<u32>c & 31)) & 1) != 0;
  }

  add(c: i32): void {
    const w = (c >> 5) & 7;
    unchecked((this.words[w] = unchecked(this.words[w]) | (<u32>1 << (<u32>c & 31))));
  }

  addRange(lo: i32, hi: i32): void {
    for (let c = lo; c <= hi; c++) this.add(c);
  }

  addSet(o: ByteSet): void {
    for (let i = 0; i < 8; i++) unchecked((this.words[i] = unchecked(this.words[i]) | unchecked(o.words[i])));
  }

  /** Adds every byte not in `o` (for \D, \W, \S and [:^name:] inside a class). */
  addComplementOf(o: ByteSet): void {
    for (let i = 0; i < 8; i++) unchecked((this.words[i] = unchecked(this.words[i]) | ~unchecked(o.words[i])));
  }

  negate(): void {
    for (let i = 0; i < 8; i++) unchecked((this.words[i] = ~unchecked(this.words[i])));
  }

  /** Adds the other case of every ASCII letter in the set: (?i) without UTF mode folds ASCII only. */
  foldAscii(): void {
    for (let c = 0x41; c <= 0x5a; c++) {
      if (this.has(c)) this.add(c | 0x20);
      else if (this.has(c | 0x20)) this.add(c);
    }
  }

  count(): i32 {
    let n = 0;
    for (let i = 0; i < 8; i++) n += <i32>popcnt(unchecked(this.words[i]));
    return n;
  }

  /** The lowest member, or -1 when empty. */
  first(): i32 {
    for (let i = 0; i < 8; i++) {
      const w = unchecked(this.words[i]);
      if (w != 0) return (i << 5) + <i32>ctz(w);
    }
    return -1;
  }

  equals(o: ByteSet): bool {
    for (let i = 0; i < 8; i++) if (unchecked(this.words[i]) != unchecked(o.words[i])) return false;
    return true;
  }

  clone(): ByteSet {
    const s = new ByteSet();
    s.addSet(this);
    return s;
  }
}

// --- the shorthand classes, with PCRE's default ("C" locale) tables ---

/** \d: 0-9. */
export function digitSet(): ByteSet {
  return ByteSet.range(0x30, 0x39);
}

/** \w: A-Z a-z 0-9 _. */
export function wordSet(): ByteSet {
  const s = ByteSet.range(0x30, 0x39);
  s.addRange(0x41, 0x5a);
  s.addRange(0x61, 0x7a);
  s.add(0x5f);
  return s;
}

/** \s: space, \t \n \v(0x0b) \f \r (PCRE includes VT since 8.34). */
export function spaceSet(): ByteSet {
  const s = ByteSet.range(0x09, 0x0d);
  s.add(0x20);
  return s;
}

/** \h: horizontal white space in non-UTF mode: \t, space, 0xA0. */
export function hspaceSet(): ByteSet {
  const s = ByteSet.of(0x09);
  s.add(0x20);
  s.add(0xa0);
  return s;
}

/** \v: vertical white space in non-UTF mode: \n \v \f \r and 0x85. */
export function vspaceSet(): ByteSet {
  const s = ByteSet.range(0x0a, 0x0d);
  s.add(0x85);
  return s;
}

/** True for a \w byte. */
export function isWordByte(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}
