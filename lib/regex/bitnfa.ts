// A bit-parallel NFA for the yes/no question, for patterns whose DFA is too big to build whole
// (`a[ab]{20}c`, `key.{0,40}[a-z0-9]{40}x`: overlapping repetitions multiply DFA states, and a
// lazy DFA that keeps meeting new states falls back to the Pike VM, 100× slower per byte).
// The live threads are a bitset over the program's consuming instructions (at most MAX_POSITIONS
// of them). One byte costs: for every non-zero byte of the bitset (at most 12), one table lookup that ORs in
// the epsilon-closure of those 8 threads' successors (Navarro and Raffinot's chunked tables),
// then an AND with the byte's accept mask. The time per byte is bounded by the program size
// alone, whatever the input: no cache to thrash. Closures depend on the assertion truths of the
// position (`\b`, `^`, `$`), so a table is made per combination met, on first use.

import { Assert } from "./ast";
import { isWordByte } from "./byteset";
import { OP_ASSERT, OP_BYTE, OP_CHECK, OP_ENTER, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT, Program } from "./program";

/**
 * Consuming instructions a program may have to run here: two words of state, 12 table lookups
 * per byte at worst (48 KB per table). Wider states cost too much per byte when they are dense:
 * such patterns are refused (bound()).
 */
export const MAX_POSITIONS: i32 = 95;

/** Assertion bits that can be true at once: a table per combination (at most 128). */
const FLAG_COMBOS: i32 = 128;

export class BitNfa {
  /** Consuming instructions, in order; bit j of a state is the thread at pcs[j]. */
  private pcs: StaticArray<i32> = new StaticArray<i32>(0);
  /** pc → position, -1 for other instructions. */
  private posOf: StaticArray<i32> = new StaticArray<i32>(0);
  private m: i32 = 0;
  /** 64-bit words per state (positions plus the MATCH bit, which is bit m). */
  private w: i32 = 1;
  private chunks: i32 = 0;
  /** Byte → the positions that accept it (256 × w words). */
  private accept: StaticArray<u64> = new StaticArray<u64>(0);
  /** Per assertion combination: the chunk tables (chunks × 256 × w words), then the start closure (w words). */
  private tables: StaticArray<StaticArray<u64> | null> = new StaticArray<StaticArray<u64> | null>(FLAG_COMBOS);
  private mark: StaticArray<i32> = new StaticArray<i32>(0);
  private gen: i32 = 0;
  private stack: StaticArray<i32> = new StaticArray<i32>(0);

  /** Whether `prog` is small enough to run here. */
  static fits(prog: Program): bool {
    let m = 0;
    for (let pc = 0; pc < prog.length; pc++) {
      const op = prog.op[pc];
      if (op == OP_BYTE || op == OP_SET) m++;
    }
    return m <= MAX_POSITIONS;
  }

  constructor(private prog: Program) {
    const n = prog.length;
    this.posOf = new StaticArray<i32>(n);
    const pcs = new Array<i32>();
    for (let pc = 0; pc < n; pc++) {
      const op = prog.op[pc];
      if (op == OP_BYTE || op == OP_SET) {
        this.posOf[pc] = pcs.length;
        pcs.push(pc);
      } else this.posOf[pc] = -1;
    }
    this.pcs = StaticArray.fromArray<i32>(pcs);
    this.m = pcs.length;
    // 1 or 2 words (fits() keeps m + 1 <= 128): each has a path that keeps the state in locals.
    this.w = (this.m + 1 + 63) >> 6;
    this.chunks = (this.m + 7) >> 3;
    this.accept = new StaticArray<u64>(256 * this.w);
    for (let j = 0; j < this.m; j++) {
      const pc = this.pcs[j];
      for (let c = 0; c < 256; c++) {
        if (prog.accepts(pc, c)) this.accept[c * this.w + (j >> 6)] |= (<u64>1) << (<u64>(j & 63));
      }
    }
    this.mark = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) this.mark[i] = -1;
    this.stack = new StaticArray<i32>(n + 1);
  }

  /** ORs into out[at, at + w) the threads reached from `pc0` without consuming, under `flags`. */
  private closure(pc0: i32, flags: i32, out: StaticArray<u64>, at: i32): void {
    const prog = this.prog;
    if (this.gen >= 0x3ffffff0) {
      for (let i = 0; i < this.mark.length; i++) this.mark[i] = -1;
      this.gen = 0;
    }
    const gen = ++this.gen;
    let sp = 0;
    this.stack[sp++] = pc0;
    while (sp > 0) {
      let pc = this.stack[--sp];
      while (pc < prog.length) {
        if (this.mark[pc] == gen) break;
        this.mark[pc] = gen;
        const op = prog.op[pc];
        if (op == OP_JMP) pc = prog.a[pc];
        else if (op == OP_SPLIT) {
          this.stack[sp++] = prog.b[pc];
          pc = prog.a[pc];
        } else if (op == OP_ASSERT) {
          if ((flags & prog.a[pc]) == 0) break;
          pc++;
        } else if (op == OP_ENTER || op == OP_CHECK) {
          pc++; // empty-iteration rules change match offsets, never whether there is a match
        } else {
          const j = op == OP_MATCH ? this.m : this.posOf[pc];
          out[at + (j >> 6)] |= (<u64>1) << (<u64>(j & 63));
          break;
        }
      }
    }
  }

  /** The tables for assertion truths `flags` (made on first use). */
  private table(flags: i32): StaticArray<u64> {
    const t = unchecked(this.tables[flags]);
    if (t != null) return t;
    const w = this.w;
    const m = this.m;
    const size = this.chunks * 256 * w;
    const tab = new StaticArray<u64>(size + w);
    // Successor closures of each position, then each chunk value as the OR of its bits' closures.
    const succ = new StaticArray<u64>(m * w);
    for (let j = 0; j < m; j++) this.closure(this.pcs[j] + 1, flags, succ, j * w);
    for (let k = 0; k < this.chunks; k++) {
      const base = k * 256 * w;
      for (let v = 1; v < 256; v++) {
        const low = ctz(v);
        const j = (k << 3) + low;
        const rest = v & (v - 1);
        for (let x = 0; x < w; x++) {
          const bits = j < m ? succ[j * w + x] : 0;
          tab[base + v * w + x] = tab[base + rest * w + x] | bits;
        }
      }
    }
    this.closure(0, flags, tab, size);
    this.tables[flags] = tab;
    return tab;
  }

  /** Whether the pattern matches somewhere in `len` bytes at `base`. */
  test(base: usize, len: i32): bool {
    const prog = this.prog;
    const w = this.w;
    const chunks = this.chunks;
    const mBit = (<u64>1) << (<u64>(this.m & 63));
    const used = prog.asserts;
    const anchored = prog.anchored;
    const acc = changetype<usize>(this.accept);
    let prevWord = false;
    let prevNl = false;
    let flags = 0;
    let tab = changetype<usize>(this.table(0));
    let one: u64 = 0;
    let two: u64 = 0;
    for (let i = 0; i <= len; i++) {
      const end = i == len;
      const c: i32 = end ? -1 : <i32>load<u8>(base + <usize>i);
      if (used != 0) {
        let f = 0;
        if (i == 0) f |= Assert.BOL | Assert.MBOL;
        else if (prevNl && !end) f |= Assert.MBOL;
        if (end) f |= Assert.EOL | Assert.MEOL | Assert.EOT;
        else if (c == 0x0a) {
          f |= Assert.MEOL;
          if (i == len - 1) f |= Assert.EOL;
        }
        const cw = c >= 0 && isWordByte(c);
        f |= prevWord != cw ? Assert.WORD : Assert.NOT_WORD;
        f &= used;
        if (f != flags || i == 0) {
          flags = f;
          tab = changetype<usize>(this.table(f));
        }
        prevWord = cw;
        prevNl = c == 0x0a;
      }
      // Threads alive at i: the successors' closures, plus a new start (unanchored search).
      const startAt = tab + (<usize>(chunks * 256 * w) << 3);
      const withStart = !anchored || i == 0;
      if (w == 1) {
        // One word of state (up to 63 positions): kept in a local, no stores.
        let live: u64 = withStart ? load<u64>(startAt) : 0;
        let word = one;
        let row = tab;
        for (let k = 0; k < chunks && word != 0; k++) {
          live |= load<u64>(row + (<usize>(word & 0xff) << 3));
          word >>= 8;
          row += 256 << 3;
        }
        if ((live & mBit) != 0) return true;
        if (end) return false;
        one = live & load<u64>(acc + (<usize>c << 3));
        if (one == 0 && anchored) return false;
      } else {
        // Two words (up to MAX_POSITIONS), the same way.
        let l0: u64 = withStart ? load<u64>(startAt) : 0;
        let l1: u64 = withStart ? load<u64>(startAt, 8) : 0;
        // A fixed number of lookups (row 0 of each chunk is all zeros): no data-dependent
        // branches, which random input would mispredict.
        let word = one;
        let row = tab;
        for (let k = 0; k < 8 && word != 0; k++) {
          const r = row + (<usize>(word & 0xff) << 4);
          l0 |= load<u64>(r);
          l1 |= load<u64>(r, 8);
          word >>= 8;
          row += 256 << 4;
        }
        word = two;
        row = tab + (<usize>(8 * 256) << 4);
        for (let k = 8; k < chunks && word != 0; k++) {
          const r = row + (<usize>(word & 0xff) << 4);
          l0 |= load<u64>(r);
          l1 |= load<u64>(r, 8);
          word >>= 8;
          row += 256 << 4;
        }
        if ((l1 & mBit) != 0) return true;
        if (end) return false;
        const a = acc + (<usize>c << 4);
        one = l0 & load<u64>(a);
        two = l1 & load<u64>(a, 8);
        if ((one | two) == 0 && anchored) return false;
      }
    }
    return false;
  }
}
