// Many patterns in one pass: a DFA over all of them together, whose transitions say which
// patterns matched. A guard asks "does any deny pattern match, and does any allow pattern?";
// one pattern at a time that is one pass over the text per pattern, here it is one pass for
// all (the cost per byte is one table lookup whatever the number of patterns).
//
// Patterns belong to groups (a bit each: the guard's deny and allow lists). A group is done once
// one of its patterns matched: its threads are dropped and it starts no new ones, so states stay
// few, and a search stops when a "stop" group matches (a deny) or when nothing is left to learn.
// A state is (live threads of the groups not done, the assertion context, the done groups).
//
// The whole DFA is built up front (every state reachable on any input, as Regex.bound() does
// for one pattern), so no input can make a search slower than one lookup per byte. Patterns
// whose union does not fit the table budget are split into several sets (RegexSet), each one
// pass; a pattern that only the bit-parallel NFA bounds keeps its own pass.

import { ByteClasses, closureInto, CTX_START, nextGeneration } from "./classes";
import { TABLE_BUDGET } from "./dfa";
import { ByteSet } from "./byteset";
import { OP_BYTE, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT, Program } from "./program";
import { DEFAULT_BUILD_STEPS, Regex } from "./regex";

const UNKNOWN: i32 = -1;
/** Most patterns one SetDfa holds (their match bits fit a u64). */
export const MAX_SET_PATTERNS: i32 = 64;
/** A set's table may use the budget of this many single patterns (memory stays bounded). */
const MAX_BUDGET_PATTERNS: i32 = 8;

function sameKernel(a: StaticArray<i32>, b: i32[]): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (unchecked(a[i]) != unchecked(b[i])) return false;
  return true;
}

/** One program for many: the programs end to end, each MATCH naming its pattern in operand a. */
class Merged {
  prog: Program;
  starts: StaticArray<i32>;
  patternOf: StaticArray<i32> = new StaticArray<i32>(0);

  constructor(progs: Program[]) {
    const op = new Array<i32>();
    const a = new Array<i32>();
    const b = new Array<i32>();
    const sets = new Array<ByteSet>();
    const patternOf = new Array<i32>();
    const starts = new StaticArray<i32>(progs.length);
    let asserts = 0;
    for (let k = 0; k < progs.length; k++) {
      const p = progs[k];
      const base = op.length;
      const setBase = sets.length;
      starts[k] = base;
      for (let i = 0; i < p.sets.length; i++) sets.push(p.sets[i]);
      asserts |= p.asserts;
      for (let pc = 0; pc < p.length; pc++) {
        const o = p.op[pc];
        let x = p.a[pc];
        let y = p.b[pc];
        if (o == OP_JMP || o == OP_SPLIT) {
          x += base;
          y += base;
        } else if (o == OP_SET) x += setBase;
        else if (o == OP_MATCH) x = k;
        op.push(o);
        a.push(x);
        b.push(y);
        patternOf.push(k);
      }
    }
    this.prog = new Program(op, a, b, sets, false, asserts);
    this.starts = starts;
    this.patternOf = StaticArray.fromArray<i32>(patternOf);
  }
}

/** States per block of rows while building. */
const BLOCK: i32 = 64;

const EMPTY = new Program([], [], [], [], false, 0);

/** The DFA of up to MAX_SET_PATTERNS patterns, built whole by build(). */
export class SetDfa {
  private prog: Program;
  private patternOf: StaticArray<i32>;
  private starts: StaticArray<i32>;
  private anchored: StaticArray<bool>;
  /** Per pattern: its group's bit. */
  private groupBit: StaticArray<i32>;
  private stopGroups: i32;
  private allGroups: i32 = 0;
  /** Groups with a pattern that may start anywhere (not anchored). */
  private floating: i32 = 0;
  private bc: ByteClasses;
  private classOf: StaticArray<u8>;
  private nsym: i32;

  /** The address of state `id`'s row. */
  private rowAt(id: i32): i32 {
    return <i32>(changetype<usize>(unchecked(this.rows[id / BLOCK])) + (<usize>((id % BLOCK) * this.nsym) << 2));
  }

  /** The start state's row (an address, after build()). */
  private start: i32 = 0;
  /**
   * The table, BLOCK states' rows per block. Per state and symbol: the next state (its id while
   * building, the address of its row after) when nothing matched, else a side entry (-2 - index).
   */
  private rows: StaticArray<i32>[] = [];
  private kernels: StaticArray<i32>[] = [];
  private ctxs: i32[] = [];
  private dones: i32[] = [];
  /** Side entries, for transitions where patterns matched or the search ends: the next row (-1: stop), the groups and the patterns that matched. */
  private sideNext: i32[] = [];
  private sideGroups: i32[] = [];
  private sidePatterns: u64[] = [];
  /** The first side entry made for the state being computed. */
  private sideFrom: i32 = 0;

  // Closure scratch space.
  private mark: StaticArray<i32>;
  private gen: i32 = 0;
  private stack: StaticArray<i32>;
  private list: StaticArray<i32>;
  private count: i32 = 0;
  private matchedGroups: i32 = 0;
  private matchedPatterns: u64 = 0;
  private curDone: i32 = 0;

  /** Every state is made (build() succeeded): scan() may run. */
  complete: bool = false;
  /** The patterns that matched in the last scan (bit k: the k-th program given). */
  patterns: u64 = 0;

  constructor(progs: Program[], groups: i32[], stopGroups: i32) {
    const m = new Merged(progs);
    const n = m.prog.length;
    const np = progs.length;
    this.prog = m.prog;
    this.patternOf = m.patternOf;
    this.starts = m.starts;
    this.anchored = new StaticArray<bool>(np);
    this.groupBit = new StaticArray<i32>(np);
    this.stopGroups = stopGroups;
    const bc = new ByteClasses(m.prog);
    this.bc = bc;
    this.classOf = bc.classOf;
    this.nsym = bc.nsym;
    this.mark = new StaticArray<i32>(n);
    this.stack = new StaticArray<i32>(n + 1);
    this.list = new StaticArray<i32>(n);
    for (let k = 0; k < np; k++) {
      this.anchored[k] = progs[k].anchored;
      const g = 1 << groups[k];
      this.groupBit[k] = g;
      this.allGroups |= g;
      if (!progs[k].anchored) this.floating |= g;
    }
    for (let i = 0; i < n; i++) this.mark[i] = -1;
    // Per consuming instruction, the symbols it accepts (the final newline as a newline; nothing consumes the end).
    const symsOf = new StaticArray<StaticArray<u16>>(n);
    const accepted = new Array<u16>();
    for (let pc = 0; pc < n; pc++) {
      accepted.length = 0;
      const op = m.prog.op[pc];
      if (op == OP_BYTE || op == OP_SET) {
        for (let sym = 0; sym < bc.symEnd; sym++) if (m.prog.accepts(pc, bc.reps[sym])) accepted.push(<u16>sym);
      }
      symsOf[pc] = StaticArray.fromArray<u16>(accepted);
    }
    this.symsOf = symsOf;
    this.symAt = new StaticArray<i32>(bc.nsym);
    for (let sym = 0; sym < bc.nsym; sym++) this.buckets2.push(new Array<i32>());
  }

  private symsOf: StaticArray<StaticArray<u16>> = new StaticArray<StaticArray<u16>>(0);
  private symAt: StaticArray<i32> = new StaticArray<i32>(0);
  private buckets2: Array<i32>[] = [];

  private built: i32 = 0;
  /** Byte → its class's offset in a row, in bytes (scan()). */
  private classOffset: StaticArray<u32> = new StaticArray<u32>(256);

  /** States made. */
  get states(): i32 {
    return this.complete ? this.built : this.kernels.length;
  }

  /** The most states a set of `patterns` patterns may have (their table budget over the symbols). */
  stateLimit(patterns: i32): i32 {
    const budget = TABLE_BUDGET * min(patterns, MAX_BUDGET_PATTERNS);
    return max(16, budget / (this.nsym * 4));
  }

  /** Adds the closure of pc0 under `flags`: consuming instructions to list, matches of groups not done to the masks. */
  private add(pc0: i32, flags: i32): void {
    const prog = this.prog;
    const from = this.count;
    const n = closureInto(prog, pc0, flags, this.mark, this.gen, this.stack, this.list, from);
    const list = this.list;
    let w = from;
    for (let i = from; i < n; i++) {
      const pc = unchecked(list[i]);
      if (unchecked(prog.op[pc]) != OP_MATCH) {
        unchecked((list[w++] = pc));
        continue;
      }
      const k = unchecked(prog.a[pc]);
      const g = unchecked(this.groupBit[k]);
      if ((g & this.curDone) == 0) {
        this.matchedGroups |= g;
        this.matchedPatterns |= (<u64>1) << (<u64>k);
      }
    }
    this.count = w;
  }

  private nextGen(): void {
    this.gen = nextGeneration(this.mark, this.gen);
  }

  /** The id of the state, made if new; -1 when there are already `limit` states. */
  private intern(kernel: i32[], ctx: i32, done: i32, limit: i32): i32 {
    // Open addressing over (ctx, done, kernel): no key string per lookup.
    let h: u32 = 0x811c9dc5 ^ <u32>ctx;
    h = (h ^ <u32>done) * 0x01000193;
    for (let i = 0; i < kernel.length; i++) h = (h ^ <u32>unchecked(kernel[i])) * 0x01000193;
    let buckets = this.buckets;
    let mask = buckets.length - 1;
    let slot = <i32>(h & <u32>mask);
    while (true) {
      const e = unchecked(buckets[slot]);
      if (e == 0) break;
      const id = e - 1;
      if (unchecked(this.ctxs[id]) == ctx && unchecked(this.dones[id]) == done && sameKernel(unchecked(this.kernels[id]), kernel)) return id;
      slot = (slot + 1) & mask;
    }
    const id = this.kernels.length;
    if (id >= limit) return -1;
    // Rows are made in blocks while building (a table grown by copying would leave every smaller
    // copy behind, and a VM's memory never shrinks); build() joins them into one table.
    if ((id & (BLOCK - 1)) == 0) this.rows.push(new StaticArray<i32>(BLOCK * this.nsym));
    this.kernels.push(StaticArray.fromArray<i32>(kernel));
    this.ctxs.push(ctx);
    this.dones.push(done);
    this.hashes.push(h);
    unchecked((buckets[slot] = id + 1));
    // Keep the load under a half: rehash into twice the buckets.
    if ((id + 1) * 2 > buckets.length) {
      buckets = new StaticArray<i32>(buckets.length * 2);
      mask = buckets.length - 1;
      for (let j = 0; j <= id; j++) {
        let sl = <i32>(this.hashes[j] & <u32>mask);
        while (unchecked(buckets[sl]) != 0) sl = (sl + 1) & mask;
        unchecked((buckets[sl] = j + 1));
      }
      this.buckets = buckets;
    }
    return id;
  }

  private buckets: StaticArray<i32> = new StaticArray<i32>(64);
  private hashes: u32[] = [];

  private side(next: i32, groups: i32, patterns: u64): i32 {
    // Transitions of one state share an entry when they say the same (a state right before a
    // match matches on every symbol, mostly into the same next state).
    const from = this.sideFrom;
    for (let k = this.sideNext.length - 1; k >= from; k--) {
      if (unchecked(this.sideNext[k]) == next && unchecked(this.sideGroups[k]) == groups && unchecked(this.sidePatterns[k]) == patterns) return -2 - k;
    }
    const k = this.sideNext.length;
    this.sideNext.push(next);
    this.sideGroups.push(groups);
    this.sidePatterns.push(patterns);
    return -2 - k;
  }

  /**
   * Fills the transitions of state `s` on every symbol; -1 when a new state would exceed
   * `limit`, else the work done. The closure depends on the symbol only through the assertion
   * truths, which few symbols tell apart: it is computed once per distinct truths, and each of
   * its threads is stepped only on the symbols it accepts (symsOf), not on all of them.
   */
  private computeState(s: i32, limit: i32): i32 {
    const bc = this.bc;
    const nsym = this.nsym;
    const kernel = this.kernels[s];
    const ctx = this.ctxs[s];
    const done = this.dones[s];
    const np = this.starts.length;
    const cache = this.closures;
    cache.length = 0;
    const seen = this.seenFlags;
    seen.length = 0;
    const symAt = this.symAt;
    let work = 0;
    // 1. The closures: [matchedGroups, matchedPatterns lo, hi, count, sorted pcs...] at cache[symAt[sym]].
    for (let sym = 0; sym < nsym; sym++) {
      const flags = bc.flagsFor(ctx, sym);
      let at = -1;
      for (let j = 0; j < seen.length; j += 2) {
        if (unchecked(seen[j]) == flags) {
          at = unchecked(seen[j + 1]);
          break;
        }
      }
      if (at < 0) {
        this.nextGen();
        this.count = 0;
        this.matchedGroups = 0;
        this.matchedPatterns = 0;
        this.curDone = done;
        for (let i = 0; i < kernel.length; i++) this.add(unchecked(kernel[i]), flags);
        // Unanchored search: every pattern of a group not done may start here (anchored ones only at 0).
        for (let k = 0; k < np; k++) {
          if ((this.groupBit[k] & done) != 0) continue;
          if (this.anchored[k] && (ctx & CTX_START) == 0) continue;
          this.add(this.starts[k], flags);
        }
        work += kernel.length + np;
        at = cache.length;
        seen.push(flags);
        seen.push(at);
        cache.push(this.matchedGroups);
        cache.push(<i32>this.matchedPatterns);
        cache.push(<i32>(this.matchedPatterns >>> 32));
        const count = this.count;
        cache.push(count);
        // Sorted (in place: no garbage per closure), so that each symbol's next kernel comes out sorted.
        const list = this.list;
        for (let i = 1; i < count; i++) {
          const v = unchecked(list[i]);
          let j = i - 1;
          while (j >= 0 && unchecked(list[j]) > v) {
            unchecked((list[j + 1] = unchecked(list[j])));
            j--;
          }
          unchecked((list[j + 1] = v));
        }
        for (let i = 0; i < count; i++) cache.push(unchecked(list[i]));
      }
      unchecked((symAt[sym] = at));
    }
    // 2. Each thread of each closure, on the symbols it accepts.
    const buckets = this.buckets2;
    for (let sym = 0; sym < nsym; sym++) unchecked(buckets[sym]).length = 0;
    for (let j = 0; j < seen.length; j += 2) {
      const at = unchecked(seen[j + 1]);
      const ndone = done | cache[at];
      if ((cache[at] & this.stopGroups) != 0 || ndone == this.allGroups) continue;
      const count = cache[at + 3];
      for (let i = 0; i < count; i++) {
        const pc = cache[at + 4 + i];
        if ((this.groupBit[this.patternOf[pc]] & ndone) != 0) continue; // its group is decided
        const syms = unchecked(this.symsOf[pc]);
        work += syms.length;
        for (let q = 0; q < syms.length; q++) {
          const sym = <i32>unchecked(syms[q]);
          if (unchecked(symAt[sym]) == at) unchecked(buckets[sym]).push(pc + 1);
        }
      }
    }
    // 3. The transitions.
    this.sideFrom = this.sideNext.length;
    const block = this.rows[s / BLOCK];
    const row = (s & (BLOCK - 1)) * nsym;
    for (let sym = 0; sym < nsym; sym++) {
      const at = unchecked(symAt[sym]);
      const matched = cache[at];
      const matchedPatterns = (<u64>(<u32>cache[at + 1])) | ((<u64>(<u32>cache[at + 2])) << 32);
      const ndone = done | matched;
      let nextRow = -1;
      if ((matched & this.stopGroups) == 0 && sym != bc.symEnd && ndone != this.allGroups) {
        const next = unchecked(buckets[sym]);
        // Something may still match: a live thread, or a group with a floating pattern.
        if (next.length > 0 || (this.floating & ~ndone) != 0) {
          const id = this.intern(next, bc.ctxAfter(unchecked(bc.reps[sym])), ndone, limit);
          if (id < 0) return -1;
          nextRow = id;
        }
      }
      const t = matched == 0 && nextRow >= 0 ? nextRow : this.side(nextRow, matched, matchedPatterns);
      unchecked((block[row + sym] = t));
    }
    return work;
  }

  private closures: i32[] = [];
  private seenFlags: i32[] = [];

  /**
   * Builds every state reachable on any input. False (and the work dropped) when the DFA needs
   * more than stateLimit(patterns) states or more than `maxSteps` instructions visited.
   */
  build(maxSteps: i32, patterns: i32): bool {
    if (this.complete) return true;
    const limit = this.stateLimit(patterns);
    let steps = 0;
    this.rows = [];
    this.intern([], CTX_START & this.bc.ctxMask, 0, limit);
    for (let s = 0; s < this.kernels.length; s++) {
      const work = this.computeState(s, limit);
      steps += work;
      if (work < 0 || steps > maxSteps) {
        this.kernels = [];
        this.ctxs = [];
        this.dones = [];
        this.buckets = new StaticArray<i32>(64);
        this.hashes = [];
        this.rows = [];
        return false;
      }
    }
    // Each next state as the address of its row: the blocks stay where they are (the collector
    // does not move objects) and alive (held in rows), so the search's next address is one add
    // of the byte's class offset, and no table is copied together (which would double the peak).
    const nsym = this.nsym;
    const rows = this.rows;
    for (let b = 0; b < rows.length; b++) {
      const block = unchecked(rows[b]);
      for (let i = 0; i < block.length; i++) {
        const t = unchecked(block[i]);
        if (t >= 0) unchecked((block[i] = this.rowAt(t)));
      }
    }
    for (let i = 0; i < this.sideNext.length; i++) if (this.sideNext[i] >= 0) this.sideNext[i] = this.rowAt(this.sideNext[i]);
    this.start = this.rowAt(0);
    for (let c = 0; c < 256; c++) unchecked((this.classOffset[c] = (<u32>this.classOf[c]) << 2));
    // Only the table and the side entries are needed from now on. Drop the rest: the collector
    // walks every live object on each cycle, and a request body's allocation starts cycles.
    this.built = this.kernels.length;
    this.kernels = [];
    this.ctxs = [];
    this.dones = [];
    this.symsOf = new StaticArray<StaticArray<u16>>(0);
    this.buckets2 = [];
    this.closures = [];
    this.seenFlags = [];
    this.mark = new StaticArray<i32>(0);
    this.stack = new StaticArray<i32>(0);
    this.list = new StaticArray<i32>(0);
    this.patternOf = new StaticArray<i32>(0);
    this.prog = EMPTY;
    this.buckets = new StaticArray<i32>(0);
    this.hashes = [];
    this.complete = true;
    return true;
  }

  /**
   * Runs the DFA over `len` bytes at `base`: the groups that matched (a stop group ends the
   * search where it matched); the patterns that did are in `patterns`. -1 when not built.
   */
  scan(base: usize, len: i32): i32 {
    return this.scanFrom(base, len, 0, this.start);
  }

  /** The start state's row, for a caller that steps the DFA itself (RegexSet.search). */
  get startRow(): i32 {
    return this.start;
  }

  /** Each byte's offset into a row (its symbol × 4), 256 u32s, for the same caller. */
  get classOffsets(): usize {
    return changetype<usize>(this.classOffset);
  }

  /**
   * scan resumed at byte `from` in the state whose row is `row`: the DFA must have reached that
   * state from the start through bytes [0, from) without a side entry (nothing matched there).
   */
  scanFrom(base: usize, len: i32, from: i32, row: i32): i32 {
    if (!this.complete) return -1;
    const cls = changetype<usize>(this.classOffset);
    let s = row; // the address of the current state's row
    let groups = 0;
    let pats: u64 = 0;
    const last = len - 1;
    let i = from;
    while (true) {
      let sym: i32;
      if (i < last) {
        // The hot loop: one lookup per byte while nothing matches.
        let r = s;
        let t: i32 = 0;
        while (i < last) {
          t = load<i32>(<usize>(r + <i32>load<u32>(cls + (<usize>load<u8>(base + <usize>i) << 2))));
          i++;
          if (t < 0) break;
          r = t;
        }
        if (t >= 0) {
          s = r;
          continue;
        }
        const k = -2 - t;
        groups |= unchecked(this.sideGroups[k]);
        pats |= unchecked(this.sidePatterns[k]);
        s = unchecked(this.sideNext[k]);
        if (s < 0) break;
        continue;
      }
      if (i == last) {
        const b = <i32>load<u8>(base + <usize>i);
        sym = b == 0x0a ? this.bc.symFinalNl : <i32>unchecked(this.classOf[b]);
      } else sym = this.bc.symEnd;
      const t = load<i32>(<usize>(s + (sym << 2)));
      i++;
      if (t >= 0) {
        s = t;
        continue;
      }
      const k = -2 - t;
      groups |= unchecked(this.sideGroups[k]);
      pats |= unchecked(this.sidePatterns[k]);
      s = unchecked(this.sideNext[k]);
      if (s < 0 || i > len) break;
    }
    this.patterns = pats;
    return groups;
  }
}

// pairedPrefix's answer besides the offset: the rows the two DFAs reached.
let pairedRowA: i32 = 0;
let pairedRowB: i32 = 0;

/**
 * Steps DFAs `a` and `b` together from their start over the bytes at `base` until either meets
 * a side entry (a match, or the end of the plain bytes): the offset where both stopped, their
 * rows in pairedRowA and pairedRowB. Each byte's two lookups are independent, so the CPU
 * overlaps them instead of running one pass's chain of loads and then the other's: a set split
 * into several DFAs (too many states for one table) costs less than its passes one by one.
 */
function pairedPrefix(a: SetDfa, b: SetDfa, base: usize, len: i32): i32 {
  const ca = a.classOffsets;
  const cb = b.classOffsets;
  let ra = a.startRow;
  let rb = b.startRow;
  const last = len - 1;
  let i = 0;
  while (i < last) {
    const o = <usize>load<u8>(base + <usize>i) << 2;
    const ta = load<i32>(<usize>(ra + <i32>load<u32>(ca + o)));
    const tb = load<i32>(<usize>(rb + <i32>load<u32>(cb + o)));
    if ((ta | tb) < 0) break;
    ra = ta;
    rb = tb;
    i++;
  }
  pairedRowA = ra;
  pairedRowB = rb;
  return i;
}

/**
 * Patterns searched together: as few SetDfa passes as the table budget allows (all of them in
 * one when their union fits), plus one pass per pattern that only the bit-parallel NFA bounds.
 */
export class RegexSet {
  private dfas: SetDfa[] = [];
  /** Per DFA: the index (in the list given) of each of its patterns. */
  private members: StaticArray<i32>[] = [];
  private singles: Regex[] = [];
  private singleIndex: i32[] = [];
  /** The index of a stop-group pattern that ended the last search (the first to match in the text), or -1. */
  stopPattern: i32 = -1;

  /**
   * `groups[k]` is the group (0 to 30) of regexes[k]; a match of a group in `stopGroups` ends
   * the search. Each pattern is bound() here if it was not (a pattern bound() refuses is left
   * to the caller, which should not give it).
   */
  private regexes: Regex[];

  constructor(
    regexes: Regex[],
    private groups: i32[],
    private stopGroups: i32,
  ) {
    this.regexes = regexes;
    const dfaable = new Array<i32>();
    for (let k = 0; k < regexes.length; k++) {
      const r = regexes[k];
      if (r.strategy == "lazy") r.bound();
      if (r.strategy == "dfa") dfaable.push(k);
      else this.addSingle(k);
    }
    // The set's DFAs replace the patterns' own; a pattern left on its own gets its DFA back below.
    for (let i = 0; i < dfaable.length; i++) regexes[dfaable[i]].releaseDfa();
    // (No collection here: the runtime may collect only between callbacks, lib/runtime/collect.ts;
    // the configure callback collects as it returns.)
    if (dfaable.length > 0) this.place(dfaable);
    // The patterns in DFAs are not needed any more (their own DFAs and programs): fewer live objects.
    this.regexes = [];
  }

  private addSingle(k: i32): void {
    this.singles.push(this.regexes[k]);
    this.singleIndex.push(k);
  }

  /** Puts the patterns `idx` in one DFA when it can be built whole, else splits them in halves. */
  private place(idx: i32[]): void {
    const n = idx.length;
    if (n <= MAX_SET_PATTERNS) {
      const progs = new Array<Program>(n);
      const groups = new Array<i32>(n);
      for (let i = 0; i < n; i++) {
        progs[i] = this.regexes[idx[i]].program;
        groups[i] = this.groups[idx[i]];
      }
      const d = new SetDfa(progs, groups, this.stopGroups);
      if (d.build(DEFAULT_BUILD_STEPS * min(n, MAX_BUDGET_PATTERNS), n)) {
        this.dfas.push(d);
        this.members.push(StaticArray.fromArray<i32>(idx));
        return;
      }
    }
    if (n == 1) {
      this.regexes[idx[0]].bound(); // its own whole DFA again (it fit before)
      this.addSingle(idx[0]);
      return;
    }
    const half = n >> 1;
    this.place(idx.slice(0, half));
    this.place(idx.slice(half));
  }

  /** Passes a search makes over the text (1 when every pattern fits one DFA). */
  get passes(): i32 {
    return this.dfas.length + this.singles.length;
  }

  /** States of the DFAs, in total. */
  get states(): i32 {
    let n = 0;
    for (let i = 0; i < this.dfas.length; i++) n += this.dfas[i].states;
    return n;
  }

  /**
   * The groups (bit g for group g) with a pattern that matches somewhere in `len` bytes at
   * `ptr`. A stop group's match ends the search (stopPattern says which pattern), so other
   * groups may be missing from the answer then.
   */
  search(ptr: usize, len: i32): i32 {
    let groups = 0;
    this.stopPattern = -1;
    const stop = this.stopGroups;
    const n = this.dfas.length;
    // DFAs go in pairs over their common plain prefix (pairedPrefix); the second of a pair
    // resumes where the prefix left it.
    let resume = false;
    let resumeFrom = 0;
    let resumeRow = 0;
    for (let i = 0; i < n; i++) {
      const d = unchecked(this.dfas[i]);
      let from = 0;
      let row = d.startRow;
      if (resume) {
        from = resumeFrom;
        row = resumeRow;
        resume = false;
      } else if (i + 1 < n && d.complete && unchecked(this.dfas[i + 1]).complete) {
        from = pairedPrefix(d, unchecked(this.dfas[i + 1]), ptr, len);
        row = pairedRowA;
        resume = true;
        resumeFrom = from;
        resumeRow = pairedRowB;
      }
      const g = d.scanFrom(ptr, len, from, row);
      groups |= g;
      if ((g & stop) != 0) {
        const members = unchecked(this.members[i]);
        let pats = d.patterns;
        while (pats != 0) {
          const k = <i32>ctz(pats);
          pats &= pats - 1;
          const at = unchecked(members[k]);
          if (((1 << this.groups[at]) & stop) != 0) {
            this.stopPattern = at;
            break;
          }
        }
        return groups;
      }
    }
    for (let i = 0; i < this.singles.length; i++) {
      const k = this.singleIndex[i];
      const bit = 1 << this.groups[k];
      if ((groups & bit) != 0) continue; // already known
      if (this.singles[i].testAt(ptr, len)) {
        groups |= bit;
        if ((bit & stop) != 0) {
          this.stopPattern = k;
          return groups;
        }
      }
    }
    return groups;
  }
}
