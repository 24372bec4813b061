// A lazily built DFA for the yes/no question "does the pattern match anywhere?" (all a guard
// needs). A DFA state is the set of program positions alive after a byte plus what the
// assertions need to know about that byte (was it a word byte, a newline, the start).
// States and transitions are made on first use and cached, so each input byte costs one
// table lookup once the cache is warm, and at most O(program) when a transition is new.
// The cache has a fixed budget; when it fills up too quickly the search finishes on the
// Pike VM instead (as RE2 does), so the time stays O(program × input) in the worst case.

import { ByteClasses, closureInto, CTX_START, nextGeneration } from "./classes";
import { OP_MATCH, Program } from "./program";

const UNKNOWN: i32 = -1;
const MATCHED: i32 = -2;
const DEAD: i32 = -3;
/** compute() gave up: the cache is thrashing. */
const GIVE_UP: i32 = -4;

/** Bytes of transition table one pattern may use. */
export const TABLE_BUDGET: i32 = 256 * 1024;

export class LazyDfa {
  /** Byte classes, the extra symbols and the assertion context (classes.ts). */
  private bc: ByteClasses;
  private classOf: StaticArray<u8>;
  private nsym: i32 = 0;
  private maxStates: i32 = 0;

  private trans: StaticArray<i32> = new StaticArray<i32>(0);
  private kernels: StaticArray<i32>[] = [];
  private ctxs: i32[] = [];
  private ids: Map<string, i32> = new Map<string, i32>();
  private startState: i32 = -1;

  // Closure scratch space.
  private mark: StaticArray<i32> = new StaticArray<i32>(0);
  private gen: i32 = 0;
  private stack: StaticArray<i32> = new StaticArray<i32>(0);
  private list: StaticArray<i32> = new StaticArray<i32>(0);
  private count: i32 = 0;
  private matched: bool = false;
  private next: i32[] = [];

  /** Cache flushes so far (observable for tests and the bench). */
  flushes: i32 = 0;

  constructor(private prog: Program) {
    const bc = new ByteClasses(prog);
    this.bc = bc;
    this.classOf = bc.classOf;
    const n = prog.length;
    this.mark = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) unchecked((this.mark[i] = -1));
    this.stack = new StaticArray<i32>(n + 1);
    this.list = new StaticArray<i32>(n);

    this.nsym = bc.nsym;
    let ms = TABLE_BUDGET / (this.nsym * 4);
    if (ms < 16) ms = 16;
    if (ms > 4096) ms = 4096;
    this.maxStates = ms;
  }

  private add(pc0: i32, flags: i32): void {
    const from = this.count;
    const n = closureInto(this.prog, pc0, flags, this.mark, this.gen, this.stack, this.list, from);
    // MATCH is no thread: note it and keep the consuming instructions.
    const list = this.list;
    let w = from;
    for (let i = from; i < n; i++) {
      const pc = unchecked(list[i]);
      if (unchecked(this.prog.op[pc]) == OP_MATCH) this.matched = true;
      else unchecked((list[w++] = pc));
    }
    this.count = w;
  }

  private nextGen(): void {
    this.gen = nextGeneration(this.mark, this.gen);
  }

  private flush(): void {
    this.flushes++;
    this.kernels = [];
    this.ctxs = [];
    this.ids = new Map<string, i32>();
    this.startState = -1;
    const t = this.trans;
    for (let i = 0; i < t.length; i++) unchecked((t[i] = UNKNOWN));
  }

  /** The id of the state (kernel, ctx), made if new. -1 when the cache is full. */
  private intern(kernel: i32[], ctx: i32): i32 {
    const units = new Array<i32>(kernel.length + 1);
    units[0] = ctx;
    for (let i = 0; i < kernel.length; i++) units[i + 1] = kernel[i] + 8;
    const key = String.fromCharCodes(units);
    if (this.ids.has(key)) return this.ids.get(key);
    const id = this.kernels.length;
    if (id >= this.maxStates) return -1;
    const need = (id + 1) * this.nsym;
    if (need > this.trans.length) {
      // Grow by doubling (up to the budget), so small patterns keep small tables.
      let states = this.trans.length / this.nsym;
      if (states < 8) states = 8;
      while (states * this.nsym < need) states <<= 1;
      if (states > this.maxStates) states = this.maxStates;
      const grown = new StaticArray<i32>(states * this.nsym);
      const old = this.trans;
      for (let i = 0; i < old.length; i++) unchecked((grown[i] = unchecked(old[i])));
      for (let i = old.length; i < grown.length; i++) unchecked((grown[i] = UNKNOWN));
      this.trans = grown;
    }
    this.kernels.push(StaticArray.fromArray<i32>(kernel));
    this.ctxs.push(ctx);
    this.ids.set(key, id);
    return id;
  }

  /** The transition of state `s` on `sym`: a state id, MATCHED, DEAD or GIVE_UP. */
  private compute(s: i32, sym: i32, pos: i32): i32 {
    const prog = this.prog;
    const kernel = this.kernels[s];
    const ctx = this.ctxs[s];
    const flags = this.bc.flagsFor(ctx, sym);
    this.nextGen();
    this.count = 0;
    this.matched = false;
    for (let i = 0; i < kernel.length; i++) this.add(unchecked(kernel[i]), flags);
    // Unanchored search: a match may start at every position (anchored ones only at 0).
    if (!prog.anchored || (ctx & CTX_START) != 0) this.add(0, flags);
    let result: i32;
    if (this.matched) result = MATCHED;
    else if (sym == this.bc.symEnd) result = DEAD;
    else {
      const c = unchecked(this.bc.reps[sym]);
      const next = this.next;
      next.length = 0;
      this.nextGen();
      for (let i = 0; i < this.count; i++) {
        const pc = unchecked(this.list[i]);
        if (prog.accepts(pc, c) && unchecked(this.mark[pc + 1]) != this.gen) {
          unchecked((this.mark[pc + 1] = this.gen));
          next.push(pc + 1);
        }
      }
      if (next.length == 0 && prog.anchored) result = DEAD;
      else {
        next.sort();
        const nctx = this.bc.ctxAfter(c);
        let id = this.intern(next, nctx);
        if (id < 0 && this.building) return GIVE_UP;
        if (id < 0) {
          // Full: start over with an empty cache. If it filled up again too soon in this
          // search, the DFA does not pay off here: give up (the caller uses the Pike VM).
          const thrashing = this.flushesThisCall > 0 && pos - this.lastFlushPos < 8 * this.maxStates;
          this.lastFlushPos = pos;
          this.flushesThisCall++;
          this.flush();
          if (thrashing) return GIVE_UP;
          return this.intern(next, nctx); // the source state is gone: do not record the edge
        }
        result = id;
      }
    }
    unchecked((this.trans[s * this.nsym + sym] = result));
    return result;
  }

  private lastFlushPos: i32 = 0;
  private flushesThisCall: i32 = 0;
  private building: bool = false;
  /** Every state and transition is made: a search never computes, flushes or gives up. */
  complete: bool = false;

  /** The most states this pattern's table may hold (its budget over the symbols). */
  get stateLimit(): i32 {
    return this.maxStates;
  }

  /** States made so far. */
  get states(): i32 {
    return this.kernels.length;
  }

  /**
   * Makes the whole DFA now, every state reachable from the start on any input, so that no
   * input can make a search slow (a lazy DFA that thrashes falls back to the Pike VM, one to
   * two orders of magnitude slower per byte). False, with the cache emptied, when the DFA
   * needs more than stateLimit states or more than `maxSteps` transitions' worth of work.
   */
  buildAll(maxSteps: i32): bool {
    if (this.complete) return true;
    this.building = true;
    const nsym = this.nsym;
    let steps = 0;
    let ok = true;
    this.start();
    for (let s = 0; s < this.kernels.length && ok; s++) {
      for (let sym = 0; sym < nsym; sym++) {
        if (unchecked(this.trans[s * nsym + sym]) != UNKNOWN) continue;
        // Work is counted in instructions visited, the cost of one transition.
        steps += this.kernels[s].length + 1;
        if (steps > maxSteps || this.compute(s, sym, 0) == GIVE_UP) {
          ok = false;
          break;
        }
      }
    }
    this.building = false;
    if (!ok) {
      this.flush();
      this.flushes = 0;
      return false;
    }
    this.complete = true;
    return true;
  }

  private start(): i32 {
    if (this.startState < 0) this.startState = this.intern([], CTX_START & this.bc.ctxMask);
    return this.startState;
  }

  /**
   * 1 when the pattern matches somewhere in `len` bytes at `base`, 0 when it does not, -1
   * when the cache thrashed and the caller should answer with the Pike VM.
   */
  test(base: usize, len: i32): i32 {
    this.lastFlushPos = 0;
    this.flushesThisCall = 0;
    let s = this.start();
    const nsym = this.nsym;
    const classOf = this.classOf;
    for (let i = 0; i < len; i++) {
      const b = <i32>load<u8>(base + <usize>i);
      const sym: i32 = b == 0x0a && i == len - 1 ? this.bc.symFinalNl : <i32>unchecked(classOf[b]);
      let t = unchecked(this.trans[s * nsym + sym]);
      if (t < 0) {
        if (t == MATCHED) return 1;
        if (t == DEAD) return 0;
        t = this.compute(s, sym, i);
        if (t == MATCHED) return 1;
        if (t == DEAD) return 0;
        if (t == GIVE_UP) return -1;
      }
      s = t;
    }
    let t = unchecked(this.trans[s * nsym + this.bc.symEnd]);
    if (t == UNKNOWN) t = this.compute(s, this.bc.symEnd, len);
    return t == MATCHED ? 1 : 0;
  }
}
