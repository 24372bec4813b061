// The Pike VM: a breadth-first simulation of the program over the input, one thread per
// instruction at most, kept in priority order so the first thread to reach MATCH wins
// (leftmost-first, as PCRE and JavaScript). Time O(program × input), memory O(program); no
// recursion (closures use an explicit stack), no backtracking.

import { Assert } from "./ast";
import { ByteSet, isWordByte } from "./byteset";
import { OP_ASSERT, OP_BYTE, OP_CHECK, OP_ENTER, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT, Program } from "./program";

/** The assertion bits true at position `i` of `text` (`n` bytes at `base`). */
export function flagsAt(base: usize, n: i32, i: i32): i32 {
  const prev: i32 = i > 0 ? <i32>load<u8>(base + <usize>(i - 1)) : -1;
  const cur: i32 = i < n ? <i32>load<u8>(base + <usize>i) : -1;
  let f = 0;
  // (?m)^ matches after a newline, but not after one that ends the subject (PCRE).
  if (i == 0) f |= Assert.BOL | Assert.MBOL;
  else if (prev == 0x0a && i < n) f |= Assert.MBOL;
  if (i == n) f |= Assert.EOL | Assert.MEOL | Assert.EOT;
  else if (cur == 0x0a) {
    f |= Assert.MEOL;
    if (i == n - 1) f |= Assert.EOL; // $ also matches before a final newline
  }
  const pw = prev >= 0 && isWordByte(prev);
  const cw = cur >= 0 && isWordByte(cur);
  f |= pw != cw ? Assert.WORD : Assert.NOT_WORD;
  return f;
}

/** The bytes a match can start with, or null when a match may be empty (no skipping then). */
export function firstBytes(prog: Program): StaticArray<u8> | null {
  const n = prog.length;
  const seen = new StaticArray<bool>(n);
  const stack = new StaticArray<i32>(n + 1);
  let sp = 0;
  stack[sp++] = 0;
  const set = new ByteSet();
  while (sp > 0) {
    let pc = stack[--sp];
    while (true) {
      if (seen[pc]) break;
      seen[pc] = true;
      const op = prog.op[pc];
      if (op == OP_JMP) pc = prog.a[pc];
      else if (op == OP_SPLIT) {
        stack[sp++] = prog.b[pc];
        pc = prog.a[pc];
      } else if (op == OP_ASSERT || op == OP_ENTER || op == OP_CHECK) pc++;
      else if (op == OP_MATCH) return null;
      else {
        if (op == OP_BYTE) set.add(prog.a[pc]);
        else set.addSet(prog.sets[prog.a[pc]]);
        break;
      }
    }
  }
  if (set.count() == 256) return null;
  const table = new StaticArray<u8>(256);
  for (let c = 0; c < 256; c++) table[c] = set.has(c) ? 1 : 0;
  return table;
}

export class PikeVM {
  private cpc: StaticArray<i32>;
  private cstart: StaticArray<i32>;
  private npc: StaticArray<i32>;
  private nstart: StaticArray<i32>;
  private ccount: i32 = 0;
  private ncount: i32 = 0;
  private mark: StaticArray<i32>;
  private mark1: StaticArray<i32>;
  private gen: i32 = 0;
  private stack: StaticArray<i32>;
  private first: StaticArray<u8> | null;
  matchStart: i32 = -1;
  matchEnd: i32 = -1;

  constructor(private prog: Program) {
    const n = prog.length;
    this.cpc = new StaticArray<i32>(n);
    this.cstart = new StaticArray<i32>(n);
    this.npc = new StaticArray<i32>(n);
    this.nstart = new StaticArray<i32>(n);
    this.mark = new StaticArray<i32>(n);
    this.mark1 = new StaticArray<i32>(n);
    // Each instruction is pushed at most once per bit.
    this.stack = new StaticArray<i32>(2 * n + 2);
    this.first = firstBytes(prog);
    for (let i = 0; i < n; i++) {
      unchecked((this.mark[i] = -1));
      unchecked((this.mark1[i] = -1));
    }
  }

  /**
   * Adds the thread at `pc0` and everything it reaches without consuming, in priority order,
   * to the next list. A closure path carries one bit: "entered an optional iteration of a
   * loop that can match empty, here". Such a path dies at any CHECK (the iteration would be
   * empty). The state is (pc, bit), each visited at most once per position, so the closure
   * stays O(program). First visit wins, as in any Pike VM: that is leftmost-first because
   * no state can reach itself without consuming (every such cycle passes a CHECK after an
   * ENTER), so a later visit only ever repeats what the first one added, at lower priority.
   */
  private add(pc0: i32, start: i32, flags: i32): void {
    const prog = this.prog;
    const mark0 = this.mark;
    const mark1 = this.mark1;
    const gen = this.gen;
    const stack = this.stack;
    let sp = 0;
    unchecked((stack[sp++] = pc0 << 1));
    while (sp > 0) {
      const e = unchecked(stack[--sp]);
      let pc = e >> 1;
      let entered = (e & 1) != 0;
      while (true) {
        const op = unchecked(prog.op[pc]);
        // (pc, bit) is the state; a consuming instruction is one thread whatever the bit.
        if (entered && op != OP_BYTE && op != OP_SET && op != OP_MATCH) {
          if (unchecked(mark1[pc]) == gen) break;
          unchecked((mark1[pc] = gen));
        } else {
          if (unchecked(mark0[pc]) == gen) break;
          unchecked((mark0[pc] = gen));
        }
        if (op == OP_JMP) {
          pc = unchecked(prog.a[pc]);
        } else if (op == OP_SPLIT) {
          unchecked((stack[sp++] = (unchecked(prog.b[pc]) << 1) | (entered ? 1 : 0)));
          pc = unchecked(prog.a[pc]);
        } else if (op == OP_ASSERT) {
          if ((flags & unchecked(prog.a[pc])) == 0) break;
          pc++;
        } else if (op == OP_ENTER) {
          entered = true;
          pc++;
        } else if (op == OP_CHECK) {
          if (entered) break;
          pc++;
        } else {
          const k = this.ncount++;
          unchecked((this.npc[k] = pc));
          unchecked((this.nstart[k] = start));
          break;
        }
      }
    }
  }

  private swap(): void {
    const p = this.cpc;
    this.cpc = this.npc;
    this.npc = p;
    const s = this.cstart;
    this.cstart = this.nstart;
    this.nstart = s;
    this.ccount = this.ncount;
    this.ncount = 0;
  }

  private nextGen(): void {
    if (this.gen >= 0x3ffffff0) {
      // Generations stamp the marks; start over long before they could wrap.
      for (let i = 0; i < this.mark.length; i++) {
        unchecked((this.mark[i] = -1));
        unchecked((this.mark1[i] = -1));
      }
      this.gen = 0;
    }
    this.gen++;
  }

  /**
   * Searches `len` bytes at `base`. With `earliest`, stops at the first match found (enough
   * for a yes/no answer); otherwise sets matchStart/matchEnd to the leftmost-first match.
   */
  exec(base: usize, len: i32, earliest: bool): bool {
    const prog = this.prog;
    const anchored = prog.anchored;
    const useFlags = prog.asserts != 0;
    const first = this.first;
    let matched = false;
    this.matchStart = -1;
    this.matchEnd = -1;
    this.ccount = 0;
    this.ncount = 0;
    this.nextGen();
    let i = 0;
    while (true) {
      if (!matched && (i == 0 || !anchored)) {
        if (this.ccount == 0 && first != null) {
          // No thread alive: jump to the next byte a match can start with.
          while (i < len && unchecked(first[<i32>load<u8>(base + <usize>i)]) == 0) i++;
          if (i >= len) break;
          this.nextGen();
        }
        // The new thread starting here has the lowest priority: append it to the current list.
        this.ncount = this.ccount;
        const t1 = this.npc;
        const t2 = this.nstart;
        this.npc = this.cpc;
        this.nstart = this.cstart;
        this.add(0, i, useFlags ? flagsAt(base, len, i) : 0);
        this.cpc = this.npc;
        this.cstart = this.nstart;
        this.ccount = this.ncount;
        this.npc = t1;
        this.nstart = t2;
        this.ncount = 0;
      }
      if (this.ccount == 0) {
        // Nothing alive: done if a match was found or no later start is possible.
        if (matched || anchored || i >= len) break;
        i++;
        this.nextGen(); // marks belong to one position
        continue;
      }
      const c: i32 = i < len ? <i32>load<u8>(base + <usize>i) : -1;
      this.nextGen();
      const nflags = useFlags && i < len ? flagsAt(base, len, i + 1) : 0;
      const count = this.ccount;
      for (let t = 0; t < count; t++) {
        const pc = unchecked(this.cpc[t]);
        const op = unchecked(prog.op[pc]);
        if (op == OP_MATCH) {
          matched = true;
          this.matchStart = unchecked(this.cstart[t]);
          this.matchEnd = i;
          if (earliest) return true;
          break; // lower-priority threads lose to this match
        }
        if (c < 0) continue;
        let ok: bool;
        if (op == OP_BYTE) ok = unchecked(prog.a[pc]) == c;
        else ok = unchecked(prog.sets[unchecked(prog.a[pc])]).has(c);
        if (ok) this.add(pc + 1, unchecked(this.cstart[t]), nflags);
      }
      this.swap();
      if (i >= len) break;
      i++;
    }
    return matched;
  }
}
