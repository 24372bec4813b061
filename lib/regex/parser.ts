// Pattern text → Node tree, in PCRE's syntax without UTF mode: the pattern is a byte string
// and every byte that is not syntax is a literal byte (a literal `é` is its two UTF-8 bytes).
// Constructs that cannot run in linear time (backreferences, lookaround, atomic groups,
// possessive quantifiers, recursion, conditionals, \K, \G) are refused with a message that
// names the construct and its byte offset. Recursion here is bounded by MAX_NESTING.

import { ByteSet, digitSet, hspaceSet, spaceSet, vspaceSet, wordSet } from "./byteset";
import { Assert, Node, NodeKind } from "./ast";

/** Longest pattern accepted, in bytes (Kong allows 500 characters; a character is up to 4 bytes). */
export const MAX_PATTERN_BYTES: i32 = 2000;
/** Deepest group nesting accepted (keeps the parser's and compiler's recursion shallow). */
export const MAX_NESTING: i32 = 100;
/** Largest {m,n} bound, as PCRE. */
export const MAX_REPEAT: i32 = 65535;

export class ParseResult {
  constructor(
    public node: Node | null,
    public error: string | null,
  ) {}
}

export function parse(pattern: Uint8Array): ParseResult {
  if (pattern.length > MAX_PATTERN_BYTES) {
    return new ParseResult(null, "pattern is " + pattern.length.toString() + " bytes long, more than the limit of " + MAX_PATTERN_BYTES.toString());
  }
  const p = new Parser(pattern);
  const node = p.parseAlt();
  if (node != null && p.error == null && p.i < p.n) {
    // parseAlt stops only at the end or at a `)` with no open group.
    p.fail("unmatched ) at offset " + p.i.toString());
  }
  if (p.error != null) return new ParseResult(null, p.error);
  return new ParseResult(node, null);
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isAlnum(c: i32): bool {
  const l = c | 0x20;
  return isDigit(c) || (l >= 0x61 && l <= 0x7a);
}

function isLetter(c: i32): bool {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

/** Printable form of a pattern byte for messages. */
function show(c: i32): string {
  if (c >= 0x21 && c < 0x7f) return String.fromCharCode(c);
  return "\\x" + (c < 16 ? "0" : "") + c.toString(16);
}

/** A POSIX class [:name:] as a set, or null for an unknown name. */
function posixClass(name: string): ByteSet | null {
  const s = new ByteSet();
  if (name == "alpha") {
    s.addRange(0x41, 0x5a);
    s.addRange(0x61, 0x7a);
  } else if (name == "digit") s.addRange(0x30, 0x39);
  else if (name == "alnum") {
    s.addRange(0x30, 0x39);
    s.addRange(0x41, 0x5a);
    s.addRange(0x61, 0x7a);
  } else if (name == "space") s.addSet(spaceSet());
  else if (name == "blank") {
    s.add(0x20);
    s.add(0x09);
  } else if (name == "upper") s.addRange(0x41, 0x5a);
  else if (name == "lower") s.addRange(0x61, 0x7a);
  else if (name == "word") s.addSet(wordSet());
  else if (name == "xdigit") {
    s.addRange(0x30, 0x39);
    s.addRange(0x41, 0x46);
    s.addRange(0x61, 0x66);
  } else if (name == "punct") {
    s.addRange(0x21, 0x2f);
    s.addRange(0x3a, 0x40);
    s.addRange(0x5b, 0x60);
    s.addRange(0x7b, 0x7e);
  } else if (name == "cntrl") {
    s.addRange(0, 0x1f);
    s.add(0x7f);
  } else if (name == "graph") s.addRange(0x21, 0x7e);
  else if (name == "print") s.addRange(0x20, 0x7e);
  else if (name == "ascii") s.addRange(0, 0x7f);
  else return null;
  return s;
}

/** Result of reading one class member: a byte, or a set already added (-1), or an error (-2). */
const CLASS_SET: i32 = -1;
const CLASS_ERROR: i32 = -2;

class Parser {
  n: i32;
  i: i32 = 0;
  error: string | null = null;
  depth: i32 = 0;
  caseless: bool = false;
  multiline: bool = false;
  dotall: bool = false;
  extended: bool = false;
  /** Set by parseAtom: whether a quantifier may follow the atom just read. */
  repeatable: bool = false;

  constructor(public p: Uint8Array) {
    this.n = p.length;
  }

  fail(msg: string): Node | null {
    if (this.error == null) this.error = msg;
    return null;
  }

  @inline at(i: i32): i32 {
    return i < this.n ? <i32>unchecked(this.p[i]) : -1;
  }

  /** With (?x): skips white space and # comments outside classes. */
  skipExtended(): void {
    if (!this.extended) return;
    while (this.i < this.n) {
      const c = this.at(this.i);
      if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) this.i++;
      else if (c == 0x23) {
        while (this.i < this.n && this.at(this.i) != 0x0a) this.i++;
      } else break;
    }
  }

  literal(c: i32, offset: i32): Node {
    const s = ByteSet.of(c);
    if (this.caseless && isLetter(c)) s.foldAscii();
    return Node.ofSet(s, offset);
  }

  parseAlt(): Node | null {
    const start = this.i;
    const alts = new Array<Node>();
    while (true) {
      const c = this.parseConcat();
      if (c == null) return null;
      alts.push(c);
      if (this.i < this.n && this.at(this.i) == 0x7c) {
        this.i++;
        continue;
      }
      break;
    }
    return alts.length == 1 ? alts[0] : Node.list(NodeKind.Alt, alts, start);
  }

  parseConcat(): Node | null {
    const start = this.i;
    const items = new Array<Node>();
    let lastRepeatable = false;
    while (true) {
      this.skipExtended();
      if (this.i >= this.n) break;
      const c = this.at(this.i);
      if (c == 0x7c || c == 0x29) break;
      // \Q...\E: literal bytes; a quantifier after it applies to the last one.
      if (c == 0x5c && this.at(this.i + 1) == 0x51) {
        this.i += 2;
        while (this.i < this.n && !(this.at(this.i) == 0x5c && this.at(this.i + 1) == 0x45)) {
          items.push(this.literal(this.at(this.i), this.i));
          this.i++;
          lastRepeatable = true;
        }
        if (this.i < this.n) this.i += 2;
        continue;
      }
      const qOffset = this.i;
      if (c == 0x2a || c == 0x2b || c == 0x3f || (c == 0x7b && this.quantifierAt(this.i))) {
        if (!lastRepeatable || items.length == 0) {
          return this.fail("quantifier " + show(c) + " at offset " + qOffset.toString() + " does not follow a repeatable item");
        }
        const q = this.parseQuantifier(items[items.length - 1]);
        if (q == null) return null;
        items[items.length - 1] = q;
        lastRepeatable = false;
        continue;
      }
      const atom = this.parseAtom();
      if (atom == null) return null;
      lastRepeatable = this.repeatable;
      // `(?i)`, comments and \E add nothing and cannot be repeated; an empty group `()` can.
      if (atom.kind != NodeKind.Empty || lastRepeatable) items.push(atom);
    }
    if (items.length == 1) return items[0];
    if (items.length == 0) return Node.empty(start);
    return Node.list(NodeKind.Concat, items, start);
  }

  /** True when a `{` at `i` starts a counted quantifier ({n}, {n,}, {n,m}); otherwise it is a literal. */
  quantifierAt(i: i32): bool {
    let j = i + 1;
    if (!isDigit(this.at(j))) return false;
    while (isDigit(this.at(j))) j++;
    if (this.at(j) == 0x7d) return true;
    if (this.at(j) != 0x2c) return false;
    j++;
    while (isDigit(this.at(j))) j++;
    return this.at(j) == 0x7d;
  }

  readNumber(): i32 {
    let v = 0;
    while (isDigit(this.at(this.i))) {
      if (v <= MAX_REPEAT) v = v * 10 + (this.at(this.i) - 0x30);
      this.i++;
    }
    return v;
  }

  parseQuantifier(item: Node): Node | null {
    const offset = this.i;
    const c = this.at(this.i);
    let min = 0;
    let max = -1;
    if (c == 0x2a) {
      this.i++;
    } else if (c == 0x2b) {
      min = 1;
      this.i++;
    } else if (c == 0x3f) {
      max = 1;
      this.i++;
    } else {
      this.i++; // {
      min = this.readNumber();
      if (this.at(this.i) == 0x2c) {
        this.i++;
        max = isDigit(this.at(this.i)) ? this.readNumber() : -1;
      } else max = min;
      this.i++; // }
      if (min > MAX_REPEAT || max > MAX_REPEAT) {
        return this.fail("repetition count at offset " + offset.toString() + " is larger than " + MAX_REPEAT.toString());
      }
      if (max >= 0 && max < min) {
        return this.fail("repetition {" + min.toString() + "," + max.toString() + "} at offset " + offset.toString() + " has its bounds out of order");
      }
    }
    let greedy = true;
    const next = this.at(this.i);
    if (next == 0x3f) {
      greedy = false;
      this.i++;
    } else if (next == 0x2b) {
      return this.fail("possessive quantifier " + show(c) + "+ at offset " + offset.toString() + " cannot run in linear time");
    }
    return Node.repeat(item, min, max, greedy, offset);
  }

  parseAtom(): Node | null {
    const offset = this.i;
    const c = this.at(this.i);
    this.repeatable = true;
    if (c == 0x28) return this.parseGroup();
    if (c == 0x5b) return this.parseClass();
    if (c == 0x2e) {
      this.i++;
      const s = new ByteSet();
      s.negate();
      if (!this.dotall) {
        const nl = ByteSet.of(0x0a);
        nl.negate();
        return Node.ofSet(nl, offset);
      }
      return Node.ofSet(s, offset);
    }
    if (c == 0x5e) {
      this.i++;
      this.repeatable = false;
      return Node.ofAssert(this.multiline ? Assert.MBOL : Assert.BOL, offset);
    }
    if (c == 0x24) {
      this.i++;
      this.repeatable = false;
      return Node.ofAssert(this.multiline ? Assert.MEOL : Assert.EOL, offset);
    }
    if (c == 0x5c) return this.parseEscape();
    this.i++;
    return this.literal(c, offset);
  }

  parseGroup(): Node | null {
    const open = this.i;
    this.i++;
    if (this.at(this.i) == 0x2a) {
      return this.fail("verb or start option (* at offset " + open.toString() + " is not supported");
    }
    const savedCaseless = this.caseless;
    const savedMultiline = this.multiline;
    const savedDotall = this.dotall;
    const savedExtended = this.extended;
    if (this.at(this.i) == 0x3f) {
      this.i++;
      const c = this.at(this.i);
      const where = " at offset " + open.toString();
      if (c == 0x3a || c == 0x7c) {
        // (?:  and  (?| (branch reset only renumbers captures, which we do not report)
        this.i++;
      } else if (c == 0x3e) return this.fail("atomic group (?>" + where + " cannot run in linear time");
      else if (c == 0x3d) return this.fail("lookahead (?=" + where + " cannot run in linear time");
      else if (c == 0x21) return this.fail("negative lookahead (?!" + where + " cannot run in linear time");
      else if (c == 0x3c && this.at(this.i + 1) == 0x3d) return this.fail("lookbehind (?<=" + where + " cannot run in linear time");
      else if (c == 0x3c && this.at(this.i + 1) == 0x21) return this.fail("negative lookbehind (?<!" + where + " cannot run in linear time");
      else if (c == 0x3c || c == 0x27 || (c == 0x50 && this.at(this.i + 1) == 0x3c)) {
        // Named group: (?<name>...), (?'name'...), (?P<name>...). Captures as a plain group.
        if (c == 0x50) this.i++;
        const close = c == 0x27 ? 0x27 : 0x3e;
        this.i++;
        const nameStart = this.i;
        while (this.i < this.n && (isAlnum(this.at(this.i)) || this.at(this.i) == 0x5f)) this.i++;
        if (this.i == nameStart || isDigit(this.at(nameStart)) || this.at(this.i) != close) {
          return this.fail("bad group name" + where);
        }
        this.i++;
      } else if (c == 0x50 && this.at(this.i + 1) == 0x3d) return this.fail("backreference (?P=" + where + " cannot run in linear time");
      else if (c == 0x50 && this.at(this.i + 1) == 0x3e) return this.fail("recursion (?P>" + where + " cannot run in linear time");
      else if (c == 0x23) {
        // (?# comment )
        while (this.i < this.n && this.at(this.i) != 0x29) this.i++;
        if (this.i >= this.n) return this.fail("missing ) after comment" + where);
        this.i++;
        this.repeatable = false;
        return Node.empty(open);
      } else if (c == 0x28) return this.fail("conditional group (?(" + where + " is not supported");
      else if (c == 0x52 || isDigit(c) || c == 0x26 || ((c == 0x2b || c == 0x2d) && isDigit(this.at(this.i + 1)))) {
        return this.fail("recursion or subroutine call (?" + show(c) + where + " cannot run in linear time");
      } else if (c == 0x43) return this.fail("callout (?C" + where + " is not supported");
      else {
        // Option setting: (?imsx-imsx) for the rest of the enclosing group, or (?imsx-imsx:...) scoped.
        let on = true;
        while (true) {
          const f = this.at(this.i);
          if (f == 0x29 || f == 0x3a) break;
          if (f == 0x2d && on) on = false;
          else if (f == 0x69) this.caseless = on;
          else if (f == 0x6d) this.multiline = on;
          else if (f == 0x73) this.dotall = on;
          else if (f == 0x78) this.extended = on;
          else if (f < 0) return this.fail("missing ) for group opened" + where);
          else return this.fail("flag (?" + show(f) + " at offset " + this.i.toString() + " is not supported");
          this.i++;
        }
        if (this.at(this.i) == 0x29) {
          // Applies until the end of the enclosing group (restored by our caller's group).
          this.i++;
          this.repeatable = false;
          return Node.empty(open);
        }
        this.i++; // ':'
      }
    }
    if (this.depth >= MAX_NESTING) {
      return this.fail("group at offset " + open.toString() + " is nested deeper than " + MAX_NESTING.toString() + " levels");
    }
    this.depth++;
    const inner = this.parseAlt();
    this.depth--;
    this.caseless = savedCaseless;
    this.multiline = savedMultiline;
    this.dotall = savedDotall;
    this.extended = savedExtended;
    if (inner == null) return null;
    if (this.at(this.i) != 0x29) return this.fail("missing ) for group opened at offset " + open.toString());
    this.i++;
    this.repeatable = true;
    // An empty group stays a real node so a quantifier on it is harmless.
    return inner;
  }

  /** Reads the escape at `i` (a backslash) outside a class. */
  parseEscape(): Node | null {
    const offset = this.i;
    const c = this.at(this.i + 1);
    const where = " at offset " + offset.toString();
    if (c < 0) return this.fail("\\ at end of pattern");
    this.i += 2;
    // Assertions.
    if (c == 0x62 || c == 0x42 || c == 0x41 || c == 0x5a || c == 0x7a) {
      this.repeatable = false;
      const kind = c == 0x62 ? Assert.WORD : c == 0x42 ? Assert.NOT_WORD : c == 0x41 ? Assert.BOL : c == 0x5a ? Assert.EOL : Assert.EOT;
      return Node.ofAssert(kind, offset);
    }
    if (c >= 0x31 && c <= 0x39) return this.fail("backreference \\" + show(c) + where + " cannot run in linear time");
    if (c == 0x67 || c == 0x6b) return this.fail("backreference or subroutine call \\" + show(c) + where + " cannot run in linear time");
    if (c == 0x47) return this.fail("\\G" + where + " is not supported");
    if (c == 0x4b) return this.fail("\\K" + where + " (reset match start) is not supported");
    if (c == 0x45) {
      this.repeatable = false;
      return Node.empty(offset);
    }
    if (c == 0x43) {
      const all = new ByteSet();
      all.negate();
      return Node.ofSet(all, offset);
    }
    if (c == 0x4e) {
      if (this.at(this.i) == 0x7b) return this.fail("\\N{...}" + where + " is not supported");
      const s = ByteSet.of(0x0a);
      s.negate();
      return Node.ofSet(s, offset);
    }
    const set = this.shorthand(c);
    if (set != null) return Node.ofSet(set, offset);
    const b = this.escapedByte(c, offset, false);
    if (b < 0) return null;
    return this.literal(b, offset);
  }

  /** The set for \d \D \w \W \s \S \h \H \v \V, or null. */
  shorthand(c: i32): ByteSet | null {
    let s: ByteSet | null = null;
    const l = c | 0x20;
    if (l == 0x64) s = digitSet();
    else if (l == 0x77) s = wordSet();
    else if (l == 0x73) s = spaceSet();
    else if (l == 0x68) s = hspaceSet();
    else if (l == 0x76) s = vspaceSet();
    if (s != null && c != l) s.negate();
    return s;
  }

  /**
   * The byte an escape stands for (`c` is the byte after the backslash, `i` is past it), or
   * -1 with the error set. Handles \a \e \f \n \r \t, octal, \xhh, \x{hh}, \o{...}, \cX and
   * escaped punctuation.
   */
  escapedByte(c: i32, offset: i32, inClass: bool): i32 {
    const where = " at offset " + offset.toString();
    if (c == 0x61) return 0x07;
    if (c == 0x65) return 0x1b;
    if (c == 0x66) return 0x0c;
    if (c == 0x6e) return 0x0a;
    if (c == 0x72) return 0x0d;
    if (c == 0x74) return 0x09;
    if (c == 0x30 || (inClass && c >= 0x31 && c <= 0x37)) {
      // Octal: \0 and up to two more digits (in a class \ddd with up to three).
      let v = c - 0x30;
      for (let k = 0; k < 2; k++) {
        const d = this.at(this.i);
        if (d < 0x30 || d > 0x37) break;
        v = v * 8 + (d - 0x30);
        this.i++;
      }
      if (v > 0xff) {
        this.fail("octal escape" + where + " is larger than \\377");
        return -1;
      }
      return v;
    }
    if (c == 0x6f) {
      if (this.at(this.i) != 0x7b) {
        this.fail("\\o" + where + " must be followed by {");
        return -1;
      }
      this.i++;
      let v = 0;
      let digits = 0;
      while (this.at(this.i) >= 0x30 && this.at(this.i) <= 0x37) {
        v = v * 8 + (this.at(this.i) - 0x30);
        if (v > 0xff) {
          this.fail("character value in \\o{...}" + where + " is larger than 0xff (no UTF mode)");
          return -1;
        }
        this.i++;
        digits++;
      }
      if (digits == 0 || this.at(this.i) != 0x7d) {
        this.fail("malformed \\o{...}" + where);
        return -1;
      }
      this.i++;
      return v;
    }
    if (c == 0x78) {
      if (this.at(this.i) == 0x7b) {
        this.i++;
        let v = 0;
        let digits = 0;
        while (hexValue(this.at(this.i)) >= 0) {
          v = v * 16 + hexValue(this.at(this.i));
          if (v > 0xff) {
            this.fail("character value in \\x{...}" + where + " is larger than 0xff (no UTF mode)");
            return -1;
          }
          this.i++;
          digits++;
        }
        if (digits == 0 || this.at(this.i) != 0x7d) {
          this.fail("malformed \\x{...}" + where);
          return -1;
        }
        this.i++;
        return v;
      }
      // Up to two hex digits; none means NUL, as PCRE.
      let v = 0;
      for (let k = 0; k < 2; k++) {
        const h = hexValue(this.at(this.i));
        if (h < 0) break;
        v = v * 16 + h;
        this.i++;
      }
      return v;
    }
    if (c == 0x63) {
      const x = this.at(this.i);
      if (x < 0x20 || x > 0x7e) {
        this.fail("\\c" + where + " must be followed by a printable ASCII character");
        return -1;
      }
      this.i++;
      const up = x >= 0x61 && x <= 0x7a ? x - 0x20 : x;
      return up ^ 0x40;
    }
    if (c == 0x70 || c == 0x50) {
      this.fail("unicode property class \\" + show(c) + where + " is not supported (patterns match bytes)");
      return -1;
    }
    if (c == 0x58) {
      this.fail("\\X" + where + " (extended grapheme cluster) is not supported");
      return -1;
    }
    if (c == 0x52) {
      this.fail("\\R" + where + " (newline sequence) is not supported");
      return -1;
    }
    if (isAlnum(c)) {
      this.fail("unrecognized escape \\" + show(c) + where);
      return -1;
    }
    // Escaped punctuation or a non-ASCII byte: itself.
    return c;
  }

  parseClass(): Node | null {
    const open = this.i;
    this.i++;
    let negate = false;
    if (this.at(this.i) == 0x5e) {
      negate = true;
      this.i++;
    }
    const set = new ByteSet();
    let first = true;
    while (true) {
      if (this.i >= this.n) return this.fail("missing ] for class opened at offset " + open.toString());
      const c = this.at(this.i);
      if (c == 0x5d && !first) {
        this.i++;
        break;
      }
      first = false;
      // \Q...\E inside a class: literal bytes.
      if (c == 0x5c && this.at(this.i + 1) == 0x51) {
        this.i += 2;
        while (this.i < this.n && !(this.at(this.i) == 0x5c && this.at(this.i + 1) == 0x45)) {
          set.add(this.at(this.i));
          this.i++;
        }
        if (this.i < this.n) this.i += 2;
        continue;
      }
      if (c == 0x5c && this.at(this.i + 1) == 0x45) {
        this.i += 2;
        continue;
      }
      const memberOffset = this.i;
      const lo = this.classMember(set);
      if (lo == CLASS_ERROR) return null;
      if (this.at(this.i) == 0x2d && this.at(this.i + 1) != 0x5d && this.i + 1 < this.n) {
        if (lo == CLASS_SET) {
          return this.fail("invalid range in class at offset " + memberOffset.toString() + ": a range cannot start at a class escape");
        }
        this.i++; // '-'
        const hiOffset = this.i;
        const hi = this.classMember(set);
        if (hi == CLASS_ERROR) return null;
        if (hi == CLASS_SET) return this.fail("invalid range in class at offset " + hiOffset.toString() + ": a range cannot end at a class escape");
        if (hi < lo) return this.fail("range out of order in class at offset " + memberOffset.toString());
        set.addRange(lo, hi);
      } else if (lo >= 0) set.add(lo);
    }
    if (this.caseless) set.foldAscii();
    if (negate) set.negate();
    return Node.ofSet(set, open);
  }

  /** One class member at `i`: a byte value, or CLASS_SET after adding a shorthand/POSIX set to `set`. */
  classMember(set: ByteSet): i32 {
    const offset = this.i;
    const c = this.at(this.i);
    if (c == 0x5b) {
      const k = this.at(this.i + 1);
      if (k == 0x2e || k == 0x3d) {
        // [.x.] and [=x=] are only errors when closed like a POSIX class.
        let j = this.i + 2;
        while (j < this.n && this.at(j) != 0x5d) j++;
        if (this.at(j - 1) == k && j - 1 > this.i + 1) {
          this.fail("POSIX collating element at offset " + offset.toString() + " is not supported");
          return CLASS_ERROR;
        }
      }
      if (k == 0x3a) {
        let j = this.i + 2;
        let neg = false;
        if (this.at(j) == 0x5e) {
          neg = true;
          j++;
        }
        const nameStart = j;
        while (isAlnum(this.at(j))) j++;
        if (this.at(j) == 0x3a && this.at(j + 1) == 0x5d) {
          const name = String.UTF8.decodeUnsafe(this.p.dataStart + <usize>nameStart, <usize>(j - nameStart));
          const s = posixClass(name);
          if (s == null) {
            this.fail("unknown POSIX class [:" + name + ":] at offset " + offset.toString());
            return CLASS_ERROR;
          }
          if (neg) set.addComplementOf(s);
          else set.addSet(s);
          this.i = j + 2;
          return CLASS_SET;
        }
      }
      this.i++;
      return c;
    }
    if (c != 0x5c) {
      this.i++;
      return c;
    }
    const e = this.at(this.i + 1);
    if (e < 0) {
      this.fail("\\ at end of pattern");
      return CLASS_ERROR;
    }
    this.i += 2;
    if (e == 0x62) return 0x08; // \b is backspace inside a class
    const s = this.shorthand(e);
    if (s != null) {
      set.addSet(s);
      return CLASS_SET;
    }
    if (e == 0x42 || e == 0x41 || e == 0x5a || e == 0x7a || e == 0x47 || e == 0x4b || e == 0x4e || e == 0x43) {
      this.fail("escape \\" + show(e) + " at offset " + offset.toString() + " is not allowed in a class");
      return CLASS_ERROR;
    }
    if (e == 0x38 || e == 0x39) {
      this.fail("unrecognized escape \\" + show(e) + " at offset " + offset.toString());
      return CLASS_ERROR;
    }
    if (e == 0x67 || e == 0x6b) {
      this.fail("unrecognized escape \\" + show(e) + " at offset " + offset.toString() + " in a class");
      return CLASS_ERROR;
    }
    const b = this.escapedByte(e, offset, true);
    return b < 0 ? CLASS_ERROR : b;
  }
}
