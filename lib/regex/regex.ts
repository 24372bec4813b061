// The public face of lib/regex: compile once (at configure time), then search many inputs.

import { parse } from "./parser";
import { compileNode, Program } from "./program";
import { PikeVM } from "./pike";
import { LazyDfa } from "./dfa";
import { BitNfa, MAX_POSITIONS } from "./bitnfa";

/** After this many searches where the DFA cache thrashed, the pattern uses the Pike VM only. */
const DFA_GIVE_UPS: i32 = 3;

/** Work allowed to build a whole DFA at configure time (instructions visited; 4M is about 80 ms). */
export const DEFAULT_BUILD_STEPS: i32 = 4_000_000;

export class Regex {
  private pike: PikeVM | null = null;
  private dfa: LazyDfa | null = null;
  private dfaGiveUps: i32 = 0;
  private bits: BitNfa | null = null;
  /** bound() chose the bit-parallel NFA: the DFA is too big to build whole. */
  private useBits: bool = false;
  /** Byte offsets of the last match found by find(): [matchStart, matchEnd). */
  matchStart: i32 = -1;
  matchEnd: i32 = -1;

  constructor(readonly program: Program) {}

  private vm(): PikeVM {
    let p = this.pike;
    if (p == null) this.pike = p = new PikeVM(this.program);
    return p;
  }

  /** Whether the pattern matches anywhere in `len` bytes at `ptr`. */
  testAt(ptr: usize, len: i32): bool {
    if (this.useBits) return this.bits!.test(ptr, len);
    if (this.dfaGiveUps < DFA_GIVE_UPS) {
      let d = this.dfa;
      if (d == null) this.dfa = d = new LazyDfa(this.program);
      const r = d.test(ptr, len);
      if (r >= 0) return r == 1;
      this.dfaGiveUps++;
    }
    const b = this.bitNfa();
    if (b != null) return b.test(ptr, len);
    return this.vm().exec(ptr, len, true);
  }

  /** The bit-parallel NFA, when the program is small enough for it. */
  private bitNfa(): BitNfa | null {
    let b = this.bits;
    if (b == null && BitNfa.fits(this.program)) this.bits = b = new BitNfa(this.program);
    return b;
  }

  /** The same answer from the bit-parallel NFA (for tests and comparisons); false when it does not fit. */
  testBits(text: Uint8Array): bool {
    const b = this.bitNfa();
    return b != null && b.test(text.dataStart, text.length);
  }

  /** Whether the pattern matches anywhere in `text` (a lazy DFA; the Pike VM if it thrashes). */
  test(text: Uint8Array): bool {
    return this.testAt(text.dataStart, text.length);
  }

  /** The same answer from the Pike VM alone (for tests and comparisons). */
  testPike(text: Uint8Array): bool {
    return this.vm().exec(text.dataStart, text.length, true);
  }

  /**
   * Finds the leftmost-first match (the one PCRE and JavaScript report) in `len` bytes at
   * `ptr`; on success its byte offsets are in matchStart/matchEnd.
   */
  findAt(ptr: usize, len: i32): bool {
    const vm = this.vm();
    const ok = vm.exec(ptr, len, false);
    this.matchStart = vm.matchStart;
    this.matchEnd = vm.matchEnd;
    return ok;
  }

  find(text: Uint8Array): bool {
    return this.findAt(text.dataStart, text.length);
  }

  /**
   * Builds the whole DFA now, so every later search runs at one table lookup per byte whatever
   * the input. Null when done; otherwise why the pattern cannot be bounded that way (its DFA
   * has more states than the table budget allows, as bounded repetitions that overlap do).
   */
  bound(maxSteps: i32 = DEFAULT_BUILD_STEPS): string | null {
    let d = this.dfa;
    if (d == null) this.dfa = d = new LazyDfa(this.program);
    if (d.buildAll(maxSteps)) return null;
    // Too many states (overlapping repetitions multiply them): the bit-parallel NFA's time per
    // byte depends on the program size only.
    if (this.bitNfa() != null) {
      this.useBits = true;
      this.dfa = null;
      return null;
    }
    return "its DFA needs more than " + d.stateLimit.toString() + " states and it has more than " + MAX_POSITIONS.toString() + " byte-matching steps, so no strategy bounds its time per byte (some inputs would run 100 times slower than others): shorten its counted repetitions";
  }

  /**
   * Drops the DFA bound() built, when a RegexSet has taken the pattern into its own: the memory
   * goes back before the set's build. A later search builds the lazy DFA again.
   */
  releaseDfa(): void {
    if (!this.useBits) this.dfa = null;
  }

  /** How bound() made the search: "dfa" (whole DFA), "bit-nfa", or "lazy" (not bounded). */
  get strategy(): string {
    if (this.useBits) return "bit-nfa";
    const d = this.dfa;
    return d != null && d.complete ? "dfa" : "lazy";
  }

  /** States in the DFA cache. */
  get dfaStates(): i32 {
    const d = this.dfa;
    return d != null ? d.states : 0;
  }

  /** How many times the DFA cache was flushed (0 while it fits). */
  get dfaFlushes(): i32 {
    const d = this.dfa;
    return d != null ? d.flushes : 0;
  }
}

export class RegexResult {
  constructor(
    public regex: Regex | null,
    /** Why the pattern was refused, naming the construct and its byte offset. */
    public error: string | null,
  ) {}
}

/** Compiles a pattern given as bytes (PCRE syntax, no UTF mode). Never traps. */
export function compileBytes(pattern: Uint8Array): RegexResult {
  const parsed = parse(pattern);
  if (parsed.error != null) return new RegexResult(null, parsed.error);
  const compiled = compileNode(parsed.node!);
  if (compiled.error != null) return new RegexResult(null, compiled.error);
  return new RegexResult(new Regex(compiled.program!), null);
}

/** Compiles a pattern given as a string: its UTF-8 bytes are the pattern. */
export function compile(pattern: string): RegexResult {
  return compileBytes(Uint8Array.wrap(String.UTF8.encode(pattern)));
}
