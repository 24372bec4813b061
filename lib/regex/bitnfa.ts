// A bit-parallel NFA for the yes/no question, for patterns whose DFA is too big to build whole
// (`a[ab]{20}c`, `key.{0,40}[a-z0-9]{40}x`: overlapping repetitions multiply DFA states, and a
// lazy DFA that keeps meeting new states falls back to the Pike VM, 100× slower per byte).
// The live threads are a bitset over the program's consuming instructions (at most MAX_POSITIONS
// of them). One byte costs a fixed sequence of whole-state operations (bitplan.ts: a few masked
// shifts, a few "any of these live?" tests, chunk tables for what is left), then an AND with the
// byte's accept mask. The work does not depend on how many threads are alive (an attacker who
// keeps them all alive gains nothing), and there is no cache to thrash. Successors depend on
// the assertion truths of the position (`\b`, `^`, `$`), so a plan is made per combination met,
// on first use.

import { Assert } from "./ast";
import { isWordByte } from "./byteset";
import { makePlan, PLAN_HEADER } from "./bitplan";
import { OP_ASSERT, OP_BYTE, OP_CHECK, OP_ENTER, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT, Program } from "./program";

/**
 * Consuming instructions a program may have to run here: two words of state (with the MATCH
 * bit). Plans that need chunk tables cost up to 12 lookups per byte (48 KB per plan).
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
  /** Byte → the positions that accept it (256 × w words). */
  private accept: StaticArray<u64> = new StaticArray<u64>(0);
  /** Per assertion combination: how a step computes the successors (bitplan.ts). */
  private plans: StaticArray<StaticArray<u64> | null> = new StaticArray<StaticArray<u64> | null>(FLAG_COMBOS);
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

  /** `chunksOnly`: every edge through chunk tables, the previous algorithm (tests compare the two). */
  constructor(
    private prog: Program,
    private chunksOnly: bool = false,
  ) {
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

  /** The step's plan for assertion truths `flags` (made on first use). */
  private plan(flags: i32): StaticArray<u64> {
    const t = unchecked(this.plans[flags]);
    if (t != null) return t;
    const w = this.w;
    const m = this.m;
    const follow = new StaticArray<u64>(m * w);
    for (let j = 0; j < m; j++) this.closure(this.pcs[j] + 1, flags, follow, j * w);
    const start = new StaticArray<u64>(w);
    this.closure(0, flags, start, 0);
    const p = makePlan(m, w, follow, start, this.chunksOnly);
    this.plans[flags] = p;
    return p;
  }

  /** The item counts of the plan for assertion truths `flags`: left shifts, right shifts, groups, chunks (for tests). */
  planShape(flags: i32): string {
    const p = this.plan(flags);
    const ones = p[PLAN_HEADER + this.w] | (this.w > 1 ? p[PLAN_HEADER + 3] : 0);
    return (p[0] + (ones != 0 ? 1 : 0)).toString() + "," + p[1].toString() + "," + p[2].toString() + "," + p[3].toString();
  }

  /** Whether the pattern matches somewhere in `len` bytes at `base`. */
  test(base: usize, len: i32): bool {
    const prog = this.prog;
    const w = this.w;
    const mBit = (<u64>1) << (<u64>(this.m & 63));
    const used = prog.asserts;
    const anchored = prog.anchored;
    const acc = changetype<usize>(this.accept);
    let prevWord = false;
    let prevNl = false;
    let flags = 0;
    let plan = changetype<usize>(this.plan(0));
    let nLeft = <i32>load<u64>(plan);
    let nRight = <i32>load<u64>(plan, 8);
    let nGroups = <i32>load<u64>(plan, 16);
    let nChunks = <i32>load<u64>(plan, 24);
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
          plan = changetype<usize>(this.plan(f));
          nLeft = <i32>load<u64>(plan);
          nRight = <i32>load<u64>(plan, 8);
          nGroups = <i32>load<u64>(plan, 16);
          nChunks = <i32>load<u64>(plan, 24);
        }
        prevWord = cw;
        prevNl = c == 0x0a;
      }
      // Threads alive at i: the live threads' successors, plus a new start (unanchored search).
      const withStart = !anchored || i == 0;
      if (w == 1) {
        // One word of state (up to 63 positions): kept in a local, no stores.
        let live: u64 = withStart ? load<u64>(plan, 32) : 0;
        const s = one;
        let p = plan + 48;
        if (s != 0) {
          live |= (s & load<u64>(plan, 40)) << 1;
          // Straight-line items (a jump into the run, as Duff's device): no loop per item.
          switch (nLeft) {
            case 8:
              live |= (s & load<u64>(p, 112)) << load<u64>(p, 120);
            case 7:
              live |= (s & load<u64>(p, 96)) << load<u64>(p, 104);
            case 6:
              live |= (s & load<u64>(p, 80)) << load<u64>(p, 88);
            case 5:
              live |= (s & load<u64>(p, 64)) << load<u64>(p, 72);
            case 4:
              live |= (s & load<u64>(p, 48)) << load<u64>(p, 56);
            case 3:
              live |= (s & load<u64>(p, 32)) << load<u64>(p, 40);
            case 2:
              live |= (s & load<u64>(p, 16)) << load<u64>(p, 24);
            case 1:
              live |= (s & load<u64>(p, 0)) << load<u64>(p, 8);
          }
          p += <usize>nLeft << 4;
          switch (nRight) {
            case 8:
              live |= (s & load<u64>(p, 112)) >> load<u64>(p, 120);
            case 7:
              live |= (s & load<u64>(p, 96)) >> load<u64>(p, 104);
            case 6:
              live |= (s & load<u64>(p, 80)) >> load<u64>(p, 88);
            case 5:
              live |= (s & load<u64>(p, 64)) >> load<u64>(p, 72);
            case 4:
              live |= (s & load<u64>(p, 48)) >> load<u64>(p, 56);
            case 3:
              live |= (s & load<u64>(p, 32)) >> load<u64>(p, 40);
            case 2:
              live |= (s & load<u64>(p, 16)) >> load<u64>(p, 24);
            case 1:
              live |= (s & load<u64>(p, 0)) >> load<u64>(p, 8);
          }
          p += <usize>nRight << 4;
          switch (nGroups) {
            case 12:
              live |= select<u64>(load<u64>(p, 184), 0, (s & load<u64>(p, 176)) != 0);
            case 11:
              live |= select<u64>(load<u64>(p, 168), 0, (s & load<u64>(p, 160)) != 0);
            case 10:
              live |= select<u64>(load<u64>(p, 152), 0, (s & load<u64>(p, 144)) != 0);
            case 9:
              live |= select<u64>(load<u64>(p, 136), 0, (s & load<u64>(p, 128)) != 0);
            case 8:
              live |= select<u64>(load<u64>(p, 120), 0, (s & load<u64>(p, 112)) != 0);
            case 7:
              live |= select<u64>(load<u64>(p, 104), 0, (s & load<u64>(p, 96)) != 0);
            case 6:
              live |= select<u64>(load<u64>(p, 88), 0, (s & load<u64>(p, 80)) != 0);
            case 5:
              live |= select<u64>(load<u64>(p, 72), 0, (s & load<u64>(p, 64)) != 0);
            case 4:
              live |= select<u64>(load<u64>(p, 56), 0, (s & load<u64>(p, 48)) != 0);
            case 3:
              live |= select<u64>(load<u64>(p, 40), 0, (s & load<u64>(p, 32)) != 0);
            case 2:
              live |= select<u64>(load<u64>(p, 24), 0, (s & load<u64>(p, 16)) != 0);
            case 1:
              live |= select<u64>(load<u64>(p, 8), 0, (s & load<u64>(p, 0)) != 0);
          }
          p += <usize>nGroups << 4;
        for (let k = 0; k < nChunks; k++, p += 8 + (256 << 3)) {
          const v = (s >> load<u64>(p)) & 0xff;
          if (v != 0) live |= load<u64>(p + 8 + (<usize>v << 3));
        }
        }
        if ((live & mBit) != 0) return true;
        if (end) return false;
        one = live & load<u64>(acc + (<usize>c << 3));
        if (one == 0 && anchored) return false;
      } else {
        // Two words (up to MAX_POSITIONS), the same way; a shift carries bits across the words.
        let l0: u64 = withStart ? load<u64>(plan, 32) : 0;
        let l1: u64 = withStart ? load<u64>(plan, 40) : 0;
        const s0 = one;
        const s1 = two;
        let p = plan + 64;
        if ((s0 | s1) != 0) {
          const o0 = s0 & load<u64>(plan, 48);
          const o1 = s1 & load<u64>(plan, 56);
          l0 |= o0 << 1;
          l1 |= (o1 << 1) | (o0 >> 63);
          // (m0 >> 1) >> (63 - d) is m0 >> (64 - d), and 0 when d is 0 (wasm shifts are mod 64).
          switch (nLeft) {
            case 8:
              { const m0 = s0 & load<u64>(p, 168); const m1 = s1 & load<u64>(p, 176); const d = load<u64>(p, 184); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 7:
              { const m0 = s0 & load<u64>(p, 144); const m1 = s1 & load<u64>(p, 152); const d = load<u64>(p, 160); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 6:
              { const m0 = s0 & load<u64>(p, 120); const m1 = s1 & load<u64>(p, 128); const d = load<u64>(p, 136); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 5:
              { const m0 = s0 & load<u64>(p, 96); const m1 = s1 & load<u64>(p, 104); const d = load<u64>(p, 112); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 4:
              { const m0 = s0 & load<u64>(p, 72); const m1 = s1 & load<u64>(p, 80); const d = load<u64>(p, 88); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 3:
              { const m0 = s0 & load<u64>(p, 48); const m1 = s1 & load<u64>(p, 56); const d = load<u64>(p, 64); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 2:
              { const m0 = s0 & load<u64>(p, 24); const m1 = s1 & load<u64>(p, 32); const d = load<u64>(p, 40); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
            case 1:
              { const m0 = s0 & load<u64>(p, 0); const m1 = s1 & load<u64>(p, 8); const d = load<u64>(p, 16); l0 |= m0 << d; l1 |= (m1 << d) | ((m0 >> 1) >> (63 - d)); }
          }
          p += <usize>nLeft * 24;
          switch (nRight) {
            case 8:
              { const m0 = s0 & load<u64>(p, 168); const m1 = s1 & load<u64>(p, 176); const d = load<u64>(p, 184); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 7:
              { const m0 = s0 & load<u64>(p, 144); const m1 = s1 & load<u64>(p, 152); const d = load<u64>(p, 160); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 6:
              { const m0 = s0 & load<u64>(p, 120); const m1 = s1 & load<u64>(p, 128); const d = load<u64>(p, 136); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 5:
              { const m0 = s0 & load<u64>(p, 96); const m1 = s1 & load<u64>(p, 104); const d = load<u64>(p, 112); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 4:
              { const m0 = s0 & load<u64>(p, 72); const m1 = s1 & load<u64>(p, 80); const d = load<u64>(p, 88); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 3:
              { const m0 = s0 & load<u64>(p, 48); const m1 = s1 & load<u64>(p, 56); const d = load<u64>(p, 64); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 2:
              { const m0 = s0 & load<u64>(p, 24); const m1 = s1 & load<u64>(p, 32); const d = load<u64>(p, 40); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
            case 1:
              { const m0 = s0 & load<u64>(p, 0); const m1 = s1 & load<u64>(p, 8); const d = load<u64>(p, 16); l0 |= (m0 >> d) | ((m1 << 1) << (63 - d)); l1 |= m1 >> d; }
          }
          p += <usize>nRight * 24;
          switch (nGroups) {
            case 12:
              { const hit = ((s0 & load<u64>(p, 352)) | (s1 & load<u64>(p, 360))) != 0; l0 |= select<u64>(load<u64>(p, 368), 0, hit); l1 |= select<u64>(load<u64>(p, 376), 0, hit); }
            case 11:
              { const hit = ((s0 & load<u64>(p, 320)) | (s1 & load<u64>(p, 328))) != 0; l0 |= select<u64>(load<u64>(p, 336), 0, hit); l1 |= select<u64>(load<u64>(p, 344), 0, hit); }
            case 10:
              { const hit = ((s0 & load<u64>(p, 288)) | (s1 & load<u64>(p, 296))) != 0; l0 |= select<u64>(load<u64>(p, 304), 0, hit); l1 |= select<u64>(load<u64>(p, 312), 0, hit); }
            case 9:
              { const hit = ((s0 & load<u64>(p, 256)) | (s1 & load<u64>(p, 264))) != 0; l0 |= select<u64>(load<u64>(p, 272), 0, hit); l1 |= select<u64>(load<u64>(p, 280), 0, hit); }
            case 8:
              { const hit = ((s0 & load<u64>(p, 224)) | (s1 & load<u64>(p, 232))) != 0; l0 |= select<u64>(load<u64>(p, 240), 0, hit); l1 |= select<u64>(load<u64>(p, 248), 0, hit); }
            case 7:
              { const hit = ((s0 & load<u64>(p, 192)) | (s1 & load<u64>(p, 200))) != 0; l0 |= select<u64>(load<u64>(p, 208), 0, hit); l1 |= select<u64>(load<u64>(p, 216), 0, hit); }
            case 6:
              { const hit = ((s0 & load<u64>(p, 160)) | (s1 & load<u64>(p, 168))) != 0; l0 |= select<u64>(load<u64>(p, 176), 0, hit); l1 |= select<u64>(load<u64>(p, 184), 0, hit); }
            case 5:
              { const hit = ((s0 & load<u64>(p, 128)) | (s1 & load<u64>(p, 136))) != 0; l0 |= select<u64>(load<u64>(p, 144), 0, hit); l1 |= select<u64>(load<u64>(p, 152), 0, hit); }
            case 4:
              { const hit = ((s0 & load<u64>(p, 96)) | (s1 & load<u64>(p, 104))) != 0; l0 |= select<u64>(load<u64>(p, 112), 0, hit); l1 |= select<u64>(load<u64>(p, 120), 0, hit); }
            case 3:
              { const hit = ((s0 & load<u64>(p, 64)) | (s1 & load<u64>(p, 72))) != 0; l0 |= select<u64>(load<u64>(p, 80), 0, hit); l1 |= select<u64>(load<u64>(p, 88), 0, hit); }
            case 2:
              { const hit = ((s0 & load<u64>(p, 32)) | (s1 & load<u64>(p, 40))) != 0; l0 |= select<u64>(load<u64>(p, 48), 0, hit); l1 |= select<u64>(load<u64>(p, 56), 0, hit); }
            case 1:
              { const hit = ((s0 & load<u64>(p, 0)) | (s1 & load<u64>(p, 8))) != 0; l0 |= select<u64>(load<u64>(p, 16), 0, hit); l1 |= select<u64>(load<u64>(p, 24), 0, hit); }
          }
          p += <usize>nGroups << 5;
        for (let k = 0; k < nChunks; k++, p += 8 + (256 << 4)) {
          const at = load<u64>(p);
          const v = ((at < 64 ? s0 : s1) >> (at & 63)) & 0xff;
          if (v != 0) {
            const r = p + 8 + (<usize>v << 4);
            l0 |= load<u64>(r);
            l1 |= load<u64>(r, 8);
          }
        }
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
