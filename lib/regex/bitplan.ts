// How the bit-parallel NFA (bitnfa.ts) computes one step's successors with a fixed amount of
// work, whatever the number of live threads. Position j's successors F(j) (a bitset over the
// positions and the MATCH bit) are split three ways:
//  - shifts: for a few distances d, every edge j → j + d is one masked shift of the whole state
//    (counted repetitions expand to runs of positions, so d = 1 covers most edges: Glushkov
//    automata are mostly "shift-and");
//  - groups: the positions whose remaining successors are the same set E share one test,
//    "if any of them is live, add E" (`x[a-z]{0,72}y`: all 73 positions before `y` also go to `y`);
//  - chunks: whatever is left (patterns with many distinct leftovers) goes through Navarro and
//    Raffinot's tables, one lookup per non-zero byte of those positions, as before.
// The step's cost is (shifts + groups) whatever is alive, plus the chunks' lookups, which stay
// at zero for the patterns guards use. The choice is made once per assertion combination.
//
// Layout of a plan (u64 words; w = words per state):
//   [0] left shifts  [1] right shifts  [2] groups  [3] chunks  [4, 4 + w) start closure
//   [4 + w, 4 + 2w) the shift by one's mask (always applied; zero when unused)
//   left shift:  w mask words, distance (0, 2..63)   → (state & mask) << d
//   right shift: w mask words, distance (1..63)      → (state & mask) >> d
//   group:       w source words, w successor words   → successors if (state & sources) != 0
//   chunk:       bit offset, 256 × w successor words → table[(state >> offset) & 0xff]

/** Words before the items: the four counts, then the start closure. */
export const PLAN_HEADER: i32 = 4;
/** Most shift distances a plan uses (each costs a masked shift of the whole state per byte). */
const MAX_SHIFTS: i32 = 8;
/** Most groups a plan uses; positions beyond go to chunk tables. */
const MAX_GROUPS: i32 = 12;
/** A chunk lookup's cost against a shift's or a group's (two loads, a branch that depends on the input). */
const CHUNK_COST: f64 = 1.5;

/** Whether bit `j` is set in the w words at `at`. */
@inline function has(s: StaticArray<u64>, at: i32, j: i32): bool {
  return ((unchecked(s[at + (j >> 6)]) >> (<u64>(j & 63))) & 1) != 0;
}

@inline function set(s: StaticArray<u64>, at: i32, j: i32): void {
  unchecked((s[at + (j >> 6)] |= (<u64>1) << (<u64>(j & 63))));
}

/** How the successor sets split under a choice of shift distances. */
class Split {
  /** Per shift distance: the positions whose edge j → j + d the shift carries (w words each). */
  masks: StaticArray<u64>;
  /** Per position: its successors that no chosen shift carries (w words each). */
  rest: StaticArray<u64>;
  /** Per group: its sources then its successors (2w words each), at most MAX_GROUPS. */
  groups: Array<StaticArray<u64>> = new Array<StaticArray<u64>>();
  /** Positions whose leftovers go through chunk tables. */
  residual: StaticArray<u64>;
  /** Chunks (8 positions) holding a residual position. */
  chunks: Array<i32> = new Array<i32>();

  constructor(
    readonly m: i32,
    readonly w: i32,
    follow: StaticArray<u64>,
    readonly deltas: Array<i32>,
    useGroups: bool,
  ) {
    const k = deltas.length;
    this.masks = new StaticArray<u64>(k * w);
    this.rest = new StaticArray<u64>(m * w);
    this.residual = new StaticArray<u64>(w);
    for (let i = 0; i < m * w; i++) unchecked((this.rest[i] = unchecked(follow[i])));
    for (let x = 0; x < k; x++) {
      const d = unchecked(deltas[x]);
      for (let j = 0; j < m; j++) {
        const t = j + d;
        if (t < 0 || t > m || !has(this.rest, j * w, t)) continue;
        set(this.masks, x * w, j);
        unchecked((this.rest[j * w + (t >> 6)] &= ~((<u64>1) << (<u64>(t & 63)))));
      }
    }
    // Group the positions by leftover set (positions with none need nothing).
    const all = new Array<StaticArray<u64>>();
    const counts = new Array<i32>();
    for (let j = 0; j < m; j++) {
      let empty = true;
      for (let x = 0; x < w; x++) if (unchecked(this.rest[j * w + x]) != 0) empty = false;
      if (empty) continue;
      let g = 0;
      for (; g < all.length; g++) {
        const e = unchecked(all[g]);
        let same = true;
        for (let x = 0; x < w; x++) if (unchecked(e[w + x]) != unchecked(this.rest[j * w + x])) same = false;
        if (same) break;
      }
      if (g == all.length) {
        const e = new StaticArray<u64>(2 * w);
        for (let x = 0; x < w; x++) unchecked((e[w + x] = unchecked(this.rest[j * w + x])));
        all.push(e);
        counts.push(0);
      }
      set(unchecked(all[g]), 0, j);
      unchecked((counts[g] = unchecked(counts[g]) + 1));
    }
    // The groups with the most sources stay groups; the others' positions go to chunk tables.
    const keep = useGroups ? min(all.length, MAX_GROUPS) : 0;
    const taken = new StaticArray<bool>(all.length);
    for (let n = 0; n < keep; n++) {
      let best = -1;
      for (let g = 0; g < all.length; g++) {
        if (!unchecked(taken[g]) && (best < 0 || unchecked(counts[g]) > unchecked(counts[best]))) best = g;
      }
      unchecked((taken[best] = true));
    }
    for (let g = 0; g < all.length; g++) {
      const e = unchecked(all[g]);
      if (unchecked(taken[g])) this.groups.push(e);
      else for (let x = 0; x < w; x++) unchecked((this.residual[x] |= unchecked(e[x])));
    }
    for (let c = 0; c < (m + 7) >> 3; c++) {
      let any = false;
      for (let j = c << 3; j < min(m, (c + 1) << 3); j++) if (has(this.residual, 0, j)) any = true;
      if (any) this.chunks.push(c);
    }
  }

  get cost(): f64 {
    return <f64>(this.deltas.length + this.groups.length) + CHUNK_COST * <f64>this.chunks.length;
  }
}

/**
 * The plan for successor sets `follow` (m positions × w words; bit m is MATCH) and start closure
 * `start` (w words). `chunksOnly` puts every edge in chunk tables: the previous algorithm, kept
 * as the reference the tests compare against.
 */
export function makePlan(m: i32, w: i32, follow: StaticArray<u64>, start: StaticArray<u64>, chunksOnly: bool): StaticArray<u64> {
  let split = new Split(m, w, follow, new Array<i32>(), !chunksOnly);
  if (!chunksOnly) {
    // Candidate distances, most edges first. One distance alone may not pay (`(a|b){12}` needs
    // 1, 2 and 3 together), so every prefix of that order is tried, then each kept distance is
    // dropped again if that is cheaper.
    const count = new StaticArray<i32>(127);
    for (let j = 0; j < m; j++) {
      for (let t = max(0, j - 63); t <= min(m, j + 63); t++) {
        if (has(follow, j * w, t)) unchecked((count[t - j + 63] += 1));
      }
    }
    const order = new Array<i32>();
    while (order.length < MAX_SHIFTS) {
      let best = -1;
      for (let i = 0; i < 127; i++) if (unchecked(count[i]) > 0 && (best < 0 || unchecked(count[i]) > unchecked(count[best]))) best = i;
      if (best < 0) break;
      unchecked((count[best] = 0));
      order.push(best - 63);
    }
    for (let n = 1; n <= order.length; n++) {
      const next = new Split(m, w, follow, order.slice(0, n), true);
      if (next.cost < split.cost) split = next;
    }
    for (let i = split.deltas.length - 1; i >= 0; i--) {
      const fewer = split.deltas.slice(0);
      fewer.splice(i, 1);
      const next = new Split(m, w, follow, fewer, true);
      if (next.cost <= split.cost) split = next;
    }
  }
  const deltas = split.deltas;
  let left = 0;
  let right = 0;
  for (let x = 0; x < deltas.length; x++) {
    const d = unchecked(deltas[x]);
    if (d < 0) right++;
    else if (d != 1) left++;
  }
  const groups = split.groups.length;
  const chunks = split.chunks.length;
  const plan = new StaticArray<u64>(PLAN_HEADER + 2 * w + (left + right) * (w + 1) + groups * 2 * w + chunks * (1 + 256 * w));
  plan[0] = <u64>left;
  plan[1] = <u64>right;
  plan[2] = <u64>groups;
  plan[3] = <u64>chunks;
  let at = PLAN_HEADER;
  for (let x = 0; x < w; x++) plan[at++] = start[x];
  // The shift by one has its own slot (zero when unused): a constant shift is cheaper than one
  // by a distance loaded from memory, and counted repetitions make it the busiest.
  for (let i = 0; i < deltas.length; i++) {
    if (unchecked(deltas[i]) == 1) for (let x = 0; x < w; x++) plan[at + x] = split.masks[i * w + x];
  }
  at += w;
  // Other left shifts (and d = 0, self-loops) first, then right shifts, as the step reads them.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < deltas.length; i++) {
      const d = unchecked(deltas[i]);
      if (d == 1 || (d >= 0) != (pass == 0)) continue;
      for (let x = 0; x < w; x++) plan[at++] = split.masks[i * w + x];
      plan[at++] = <u64>(d >= 0 ? d : -d);
    }
  }
  for (let g = 0; g < groups; g++) {
    const e = split.groups[g];
    for (let x = 0; x < 2 * w; x++) plan[at++] = e[x];
  }
  for (let i = 0; i < chunks; i++) {
    const c = split.chunks[i];
    plan[at++] = <u64>(c << 3);
    // Entry v: the OR of the leftovers of the residual positions among bits v of the chunk.
    for (let v = 1; v < 256; v++) {
      const low = ctz(v);
      const j = (c << 3) + low;
      const prev = at + (v & (v - 1)) * w;
      const own = j < m && has(split.residual, 0, j);
      for (let x = 0; x < w; x++) plan[at + v * w + x] = plan[prev + x] | (own ? split.rest[j * w + x] : 0);
    }
    at += 256 * w;
  }
  return plan;
}
