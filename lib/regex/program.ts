// Node tree → a Thompson-NFA program (Pike's instruction set): BYTE and SET consume one byte,
// SPLIT forks (its first target has priority: leftmost-first, as PCRE), JMP, ASSERT checks a
// zero-width condition, MATCH accepts. Counted repetitions are expanded, so the program size
// is bounded before anything is emitted.

import { ByteSet } from "./byteset";
import { Assert, Node, NodeKind } from "./ast";

export const OP_BYTE: i32 = 0;
export const OP_SET: i32 = 1;
export const OP_SPLIT: i32 = 2;
export const OP_JMP: i32 = 3;
export const OP_ASSERT: i32 = 4;
export const OP_MATCH: i32 = 5;
/** Starts an optional iteration of a loop whose body can match empty (see CHECK). */
export const OP_ENTER: i32 = 6;
/**
 * Ends such an iteration: it fails if nothing was consumed since its ENTER. JavaScript (and
 * the leftmost-first order it defines) rejects an optional iteration that matches the empty
 * string; without this the VM's per-position deduplication picks a different match end.
 * Neither changes whether there is a match.
 */
export const OP_CHECK: i32 = 7;

/** Most instructions one pattern may compile to: matching costs O(program × input). */
export const MAX_PROGRAM: i32 = 10000;

export class Program {
  /** Per instruction: opcode, then two operands (byte/set index/target/assert mask). */
  op: StaticArray<i32>;
  a: StaticArray<i32>;
  b: StaticArray<i32>;
  sets: ByteSet[];
  /** Every match must start at offset 0 (the pattern begins with `^` or `\A` on every branch). */
  anchored: bool;
  /** Union of the assertion bits the program uses. */
  asserts: i32;

  constructor(op: i32[], a: i32[], b: i32[], sets: ByteSet[], anchored: bool, asserts: i32) {
    const n = op.length;
    this.sets = sets;
    this.anchored = anchored;
    this.asserts = asserts;
    this.op = new StaticArray<i32>(n);
    this.a = new StaticArray<i32>(n);
    this.b = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      unchecked((this.op[i] = op[i]));
      unchecked((this.a[i] = a[i]));
      unchecked((this.b[i] = b[i]));
    }
  }

  get length(): i32 {
    return this.op.length;
  }

  /** Whether the consuming instruction at `pc` accepts byte `c`. */
  @inline accepts(pc: i32, c: i32): bool {
    const o = unchecked(this.op[pc]);
    if (o == OP_BYTE) return unchecked(this.a[pc]) == c;
    return unchecked(this.sets[unchecked(this.a[pc])]).has(c);
  }
}

export class CompileResult {
  constructor(
    public program: Program | null,
    public error: string | null,
  ) {}
}

/** Whether `node` can match the empty string. */
export function nullable(node: Node): bool {
  switch (node.kind) {
    case NodeKind.Empty:
    case NodeKind.Assert:
      return true;
    case NodeKind.Set:
      return false;
    case NodeKind.Concat:
      for (let i = 0; i < node.children.length; i++) if (!nullable(node.children[i])) return false;
      return true;
    case NodeKind.Alt:
      for (let i = 0; i < node.children.length; i++) if (nullable(node.children[i])) return true;
      return false;
    case NodeKind.Repeat:
      return node.min == 0 || nullable(node.children[0]);
  }
  return true;
}

/** Instructions `node` compiles to (saturating: a huge count is just "too many"). */
function sizeOf(node: Node): f64 {
  switch (node.kind) {
    case NodeKind.Empty:
      return 0;
    case NodeKind.Set:
    case NodeKind.Assert:
      return 1;
    case NodeKind.Concat: {
      let s: f64 = 0;
      for (let i = 0; i < node.children.length; i++) s += sizeOf(node.children[i]);
      return s;
    }
    case NodeKind.Alt: {
      let s: f64 = 2 * <f64>(node.children.length - 1);
      for (let i = 0; i < node.children.length; i++) s += sizeOf(node.children[i]);
      return s;
    }
    case NodeKind.Repeat: {
      const c = sizeOf(node.children[0]);
      const min = <f64>node.min;
      if (nullable(node.children[0])) {
        // Optional iterations carry ENTER and CHECK.
        if (node.max < 0) return min * c + c + 4;
        return min * c + <f64>(node.max - node.min) * (c + 3);
      }
      if (node.max < 0) return min == 0 ? c + 2 : min * c + 1;
      return min * c + <f64>(node.max - node.min) * (c + 1);
    }
  }
  return 0;
}

/** The innermost repetition whose expansion alone exceeds the limit, for the message. */
function blame(node: Node): Node | null {
  for (let i = 0; i < node.children.length; i++) {
    const b = blame(node.children[i]);
    if (b != null) return b;
  }
  if (node.kind == NodeKind.Repeat && sizeOf(node) + 1 > <f64>MAX_PROGRAM) return node;
  return null;
}

/** Whether every match of `node` must begin at the start of the subject. */
function startsAnchored(node: Node): bool {
  if (node.kind == NodeKind.Assert) return node.assert == Assert.BOL;
  if (node.kind == NodeKind.Concat) return node.children.length > 0 && startsAnchored(node.children[0]);
  if (node.kind == NodeKind.Alt) {
    for (let i = 0; i < node.children.length; i++) if (!startsAnchored(node.children[i])) return false;
    return true;
  }
  if (node.kind == NodeKind.Repeat) return node.min > 0 && startsAnchored(node.children[0]);
  return false;
}

class Compiler {
  op: i32[] = [];
  a: i32[] = [];
  b: i32[] = [];
  sets: ByteSet[] = [];
  asserts: i32 = 0;

  emit(op: i32, a: i32, b: i32): i32 {
    const pc = this.op.length;
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return pc;
  }

  get pc(): i32 {
    return this.op.length;
  }

  internSet(s: ByteSet): i32 {
    for (let i = 0; i < this.sets.length; i++) if (this.sets[i].equals(s)) return i;
    this.sets.push(s);
    return this.sets.length - 1;
  }

  compile(node: Node): void {
    switch (node.kind) {
      case NodeKind.Empty:
        return;
      case NodeKind.Set: {
        const s = node.set!;
        if (s.count() == 1) this.emit(OP_BYTE, s.first(), 0);
        else {
          // Expanded repetitions compile the same node many times: intern once per node.
          if (node.setId < 0) node.setId = this.internSet(s);
          this.emit(OP_SET, node.setId, 0);
        }
        return;
      }
      case NodeKind.Assert:
        this.asserts |= node.assert;
        this.emit(OP_ASSERT, node.assert, 0);
        return;
      case NodeKind.Concat:
        for (let i = 0; i < node.children.length; i++) this.compile(node.children[i]);
        return;
      case NodeKind.Alt: {
        const jumps = new Array<i32>();
        const k = node.children.length;
        for (let i = 0; i < k; i++) {
          if (i < k - 1) {
            const split = this.emit(OP_SPLIT, this.pc + 1, 0);
            this.compile(node.children[i]);
            jumps.push(this.emit(OP_JMP, 0, 0));
            this.b[split] = this.pc;
          } else this.compile(node.children[i]);
        }
        for (let i = 0; i < jumps.length; i++) this.a[jumps[i]] = this.pc;
        return;
      }
      case NodeKind.Repeat:
        this.compileRepeat(node);
        return;
    }
  }

  /** A SPLIT whose targets patchFork fills in. */
  fork(): i32 {
    return this.emit(OP_SPLIT, 0, 0);
  }

  /** Greedy prefers the body, lazy the exit. */
  patchFork(split: i32, body: i32, exit: i32, greedy: bool): void {
    this.a[split] = greedy ? body : exit;
    this.b[split] = greedy ? exit : body;
  }

  compileRepeat(node: Node): void {
    const child = node.children[0];
    const min = node.min;
    const max = node.max;
    const greedy = node.greedy;
    const canBeEmpty = nullable(child);
    if (max < 0) {
      if (min == 0 || canBeEmpty) {
        for (let i = 0; i < min; i++) this.compile(child);
        // L: SPLIT body, out; body: [ENTER] x [CHECK]; JMP L; out:
        const split = this.fork();
        if (canBeEmpty) this.emit(OP_ENTER, 0, 0);
        this.compile(child);
        if (canBeEmpty) this.emit(OP_CHECK, 0, 0);
        this.emit(OP_JMP, split, 0);
        this.patchFork(split, split + 1, this.pc, greedy);
        return;
      }
      for (let i = 0; i < min - 1; i++) this.compile(child);
      // L: x; SPLIT L, out
      const loop = this.pc;
      this.compile(child);
      const split = this.fork();
      this.patchFork(split, loop, this.pc, greedy);
      return;
    }
    for (let i = 0; i < min; i++) this.compile(child);
    // max-min nested optionals: (?:x(?:x(?:x)?)?)? — once one is skipped the loop ends.
    const splits = new Array<i32>();
    for (let i = min; i < max; i++) {
      const split = this.fork();
      splits.push(split);
      if (canBeEmpty) this.emit(OP_ENTER, 0, 0);
      this.compile(child);
      if (canBeEmpty) this.emit(OP_CHECK, 0, 0);
    }
    const out = this.pc;
    for (let i = 0; i < splits.length; i++) this.patchFork(splits[i], splits[i] + 1, out, greedy);
  }
}

export function compileNode(node: Node): CompileResult {
  const size = sizeOf(node) + 1;
  if (size > <f64>MAX_PROGRAM) {
    const b = blame(node);
    const what = b != null ? "repetition at offset " + b.offset.toString() : "pattern";
    const count = size >= 1e9 ? "over a billion" : (<i64>size).toString();
    return new CompileResult(null, what + " makes the program " + count + " instructions long, more than the limit of " + MAX_PROGRAM.toString());
  }
  const c = new Compiler();
  c.compile(node);
  c.emit(OP_MATCH, 0, 0);
  return new CompileResult(new Program(c.op, c.a, c.b, c.sets, startsAnchored(node), c.asserts), null);
}
