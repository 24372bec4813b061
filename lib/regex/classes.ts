// What a DFA over a program needs to know about bytes and positions, shared by the
// single-pattern lazy DFA (dfa.ts) and the multi-pattern DFA (set.ts):
// - byte equivalence classes: bytes no instruction tells apart share a class (and so a
//   column of the transition table); newline and word bytes stay apart from their
//   neighbours when assertions look at them;
// - two extra symbols: a newline that is the last byte (`$` may match before it) and the end;
// - the context a state keeps about the byte before it (start, word byte, newline), and the
//   assertion truths at a position given that context and the next symbol;
// - the closure of a position: the threads (and matches) it reaches without consuming.

import { Assert } from "./ast";
import { isWordByte } from "./byteset";
import { OP_ASSERT, OP_BYTE, OP_CHECK, OP_ENTER, OP_JMP, OP_SPLIT, Program } from "./program";

export const CTX_START: i32 = 1;
export const CTX_WORD: i32 = 2;
export const CTX_NL: i32 = 4;

export class ByteClasses {
  /** Byte → equivalence class. */
  classOf: StaticArray<u8> = new StaticArray<u8>(256);
  /** A byte of each symbol, for evaluating instructions on it (-1 for the end). */
  reps: StaticArray<i32> = new StaticArray<i32>(0);
  /** Symbol of a newline that is the last byte. */
  symFinalNl: i32 = 0;
  /** Symbol of the end of the subject. */
  symEnd: i32 = 0;
  /** Symbols: the classes, then the final newline and the end. */
  nsym: i32 = 0;
  /** The context bits the program's assertions look at. */
  ctxMask: i32 = 0;

  constructor(prog: Program) {
    const n = prog.length;
    const boundary = new StaticArray<bool>(257);
    for (let pc = 0; pc < n; pc++) {
      if (prog.op[pc] == OP_BYTE) {
        const c = prog.a[pc];
        boundary[c] = true;
        boundary[c + 1] = true;
      }
    }
    for (let k = 0; k < prog.sets.length; k++) {
      const s = prog.sets[k];
      for (let c = 1; c < 256; c++) if (s.has(c) != s.has(c - 1)) boundary[c] = true;
    }
    boundary[0x0a] = true;
    boundary[0x0b] = true;
    if ((prog.asserts & (Assert.WORD | Assert.NOT_WORD)) != 0) {
      for (let c = 1; c < 256; c++) if (isWordByte(c) != isWordByte(c - 1)) boundary[c] = true;
    }
    let cls = 0;
    const reps = new Array<i32>();
    reps.push(0);
    for (let c = 0; c < 256; c++) {
      if (c > 0 && boundary[c]) {
        cls++;
        reps.push(c);
      }
      this.classOf[c] = <u8>cls;
    }
    const nclasses = cls + 1;
    this.symFinalNl = nclasses;
    this.symEnd = nclasses + 1;
    this.nsym = nclasses + 2;
    reps.push(0x0a); // final newline
    reps.push(-1); // end
    this.reps = StaticArray.fromArray<i32>(reps);

    let mask = 0;
    if ((prog.asserts & (Assert.BOL | Assert.MBOL)) != 0) mask |= CTX_START;
    if ((prog.asserts & (Assert.WORD | Assert.NOT_WORD)) != 0) mask |= CTX_WORD;
    if ((prog.asserts & Assert.MBOL) != 0) mask |= CTX_NL;
    this.ctxMask = mask;
  }

  /** The assertion truths between a byte with context `ctx` and the symbol `sym`. */
  flagsFor(ctx: i32, sym: i32): i32 {
    const isEnd = sym == this.symEnd;
    const c = isEnd ? -1 : unchecked(this.reps[sym]);
    let f = 0;
    if ((ctx & CTX_START) != 0) f |= Assert.BOL | Assert.MBOL;
    else if ((ctx & CTX_NL) != 0 && !isEnd) f |= Assert.MBOL;
    if (isEnd) f |= Assert.EOL | Assert.MEOL | Assert.EOT;
    else if (c == 0x0a) {
      f |= Assert.MEOL;
      if (sym == this.symFinalNl) f |= Assert.EOL;
    }
    const pw = (ctx & CTX_WORD) != 0;
    const cw = c >= 0 && isWordByte(c);
    f |= pw != cw ? Assert.WORD : Assert.NOT_WORD;
    return f;
  }

  /** The context after consuming byte `c`. */
  @inline ctxAfter(c: i32): i32 {
    let nctx = 0;
    if (c == 0x0a) nctx |= CTX_NL;
    if (isWordByte(c)) nctx |= CTX_WORD;
    return nctx & this.ctxMask;
  }
}

/**
 * The next generation number for a closure walk's `mark` array (a pc is visited in this walk
 * when its mark equals the generation): before the counter could overflow, every mark is reset.
 */
export function nextGeneration(mark: StaticArray<i32>, gen: i32): i32 {
  if (gen >= 0x3ffffff0) {
    for (let i = 0; i < mark.length; i++) unchecked((mark[i] = -1));
    gen = 0;
  }
  return gen + 1;
}

/**
 * Appends to `list` (from `count`) every consuming instruction and every MATCH reached from pc0
 * without consuming, under the assertion truths `flags`; each pc once per `gen` (in `mark`).
 * Returns the new count. ENTER and CHECK are passed: whether an empty iteration is allowed
 * changes which match is reported, never whether there is one.
 */
export function closureInto(prog: Program, pc0: i32, flags: i32, mark: StaticArray<i32>, gen: i32, stack: StaticArray<i32>, list: StaticArray<i32>, count: i32): i32 {
  let sp = 0;
  unchecked((stack[sp++] = pc0));
  while (sp > 0) {
    let pc = unchecked(stack[--sp]);
    while (true) {
      if (unchecked(mark[pc]) == gen) break;
      unchecked((mark[pc] = gen));
      const op = unchecked(prog.op[pc]);
      if (op == OP_JMP) pc = unchecked(prog.a[pc]);
      else if (op == OP_SPLIT) {
        unchecked((stack[sp++] = unchecked(prog.b[pc])));
        pc = unchecked(prog.a[pc]);
      } else if (op == OP_ASSERT) {
        if ((flags & unchecked(prog.a[pc])) == 0) break;
        pc++;
      } else if (op == OP_ENTER || op == OP_CHECK) pc++;
      else {
        unchecked((list[count++] = pc));
        break;
      }
    }
  }
  return count;
}
