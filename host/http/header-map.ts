// An ordered HTTP header map with Envoy's semantics: keys are lower-cased, a key may
// appear more than once, pseudo-headers (":method", ":path", ":authority", ":scheme",
// ":status") live in the same map, and lookups return the first value.

export type HeaderPair = [key: string, value: string];

export class HeaderMap {
  private pairs: HeaderPair[] = [];

  constructor(init?: Iterable<HeaderPair>) {
    if (init) for (const [k, v] of init) this.add(k, v);
  }

  /** First value for `key`, or null when absent. */
  get(key: string): string | null {
    const k = key.toLowerCase();
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i++) if (pairs[i][0] === k) return pairs[i][1];
    return null;
  }

  getAll(key: string): string[] {
    const k = key.toLowerCase();
    return this.pairs.filter(([pk]) => pk === k).map(([, v]) => v);
  }

  has(key: string): boolean {
    return this.get(key) !== null;
  }

  /** Envoy's addCopy: another entry with the same key (no comma folding). */
  add(key: string, value: string): void {
    this.pairs.push([key.toLowerCase(), value]);
  }

  /** Envoy's setCopy: replace the first entry's value and drop the others, or add. */
  set(key: string, value: string): void {
    const k = key.toLowerCase();
    const pairs = this.pairs;
    let i = 0;
    while (i < pairs.length && pairs[i][0] !== k) i++;
    if (i === pairs.length) {
      pairs.push([k, value]);
      return;
    }
    pairs[i] = [k, value];
    this.removeFrom(k, i + 1);
  }

  remove(key: string): void {
    this.removeFrom(key.toLowerCase(), 0);
  }

  /**
   * Drops the entries for lower-cased `k` at or after `from`, in place. These run several times
   * per request (hop-by-hop headers, filters' header calls): no allocation when `k` is absent.
   * Pairs are never mutated, only replaced, so iterators handed out keep their snapshot.
   */
  private removeFrom(k: string, from: number): void {
    const pairs = this.pairs;
    let w = from;
    for (let r = from; r < pairs.length; r++) {
      if (pairs[r][0] === k) continue;
      if (w !== r) pairs[w] = pairs[r];
      w++;
    }
    // Setting length is a runtime call even when it does not change: only when something went.
    if (w !== pairs.length) pairs.length = w;
  }

  clear(): void {
    this.pairs = [];
  }

  /** Number of entries, pseudo-headers included. */
  get count(): number {
    return this.pairs.length;
  }

  /** Envoy's HeaderMap::byteSize(): the sum of key and value lengths in bytes. */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.pairs) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }

  /** A snapshot of the entries; the pair tuples are shared and must not be modified. */
  entries(): readonly (readonly [string, string])[] {
    return this.pairs.slice();
  }

  /** Iterates a snapshot of the entries (the pairs themselves are never mutated). */
  [Symbol.iterator](): Iterator<HeaderPair> {
    return this.pairs.slice()[Symbol.iterator]();
  }

  clone(): HeaderMap {
    return new HeaderMap(this.pairs);
  }

  /** Plain object for logging and assertions (repeated keys joined with ","). */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of this.pairs) o[k] = k in o ? `${o[k]},${v}` : v;
    return o;
  }
}
