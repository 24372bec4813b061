// The parsed pattern. Captures do not matter to a guard (there are no backreferences), so a
// group is just its inner node; only the byte offset is kept, for error messages.

import { ByteSet } from "./byteset";

export const enum NodeKind {
  /** Matches the empty string (an empty alternative, `(?i)`, `(?#...)`, `\E`). */
  Empty = 0,
  /** One byte out of `set` (literals, classes, `.`). */
  Set = 1,
  /** A zero-width assertion; `assert` is one of the Assert bits. */
  Assert = 2,
  Concat = 3,
  Alt = 4,
  /** `children[0]` repeated min..max times (max -1: unbounded). */
  Repeat = 5,
}

/** Zero-width assertions, as bits so a position's truths fit one mask. */
export namespace Assert {
  /** `^` without (?m), `\A`: start of the subject. */
  export const BOL: i32 = 1;
  /** `^` with (?m): start, or after a newline that is not the last byte. */
  export const MBOL: i32 = 2;
  /** `$` without (?m), `\Z`: end, or before a newline that is the last byte. */
  export const EOL: i32 = 4;
  /** `$` with (?m): end, or before any newline. */
  export const MEOL: i32 = 8;
  /** `\z`: the very end. */
  export const EOT: i32 = 16;
  /** `\b`. */
  export const WORD: i32 = 32;
  /** `\B`. */
  export const NOT_WORD: i32 = 64;
}

export class Node {
  set: ByteSet | null = null;
  /** The compiler's index for `set` (-1 until interned). */
  setId: i32 = -1;
  assert: i32 = 0;
  children: Node[] = [];
  min: i32 = 0;
  max: i32 = 0;
  greedy: bool = true;

  constructor(
    public kind: NodeKind,
    /** Byte offset in the pattern where this node starts. */
    public offset: i32,
  ) {}

  static empty(offset: i32): Node {
    return new Node(NodeKind.Empty, offset);
  }

  static ofSet(set: ByteSet, offset: i32): Node {
    const n = new Node(NodeKind.Set, offset);
    n.set = set;
    return n;
  }

  static ofAssert(kind: i32, offset: i32): Node {
    const n = new Node(NodeKind.Assert, offset);
    n.assert = kind;
    return n;
  }

  static list(kind: NodeKind, children: Node[], offset: i32): Node {
    const n = new Node(kind, offset);
    n.children = children;
    return n;
  }

  static repeat(child: Node, min: i32, max: i32, greedy: bool, offset: i32): Node {
    const n = new Node(NodeKind.Repeat, offset);
    n.children = [child];
    n.min = min;
    n.max = max;
    n.greedy = greedy;
    return n;
  }
}
