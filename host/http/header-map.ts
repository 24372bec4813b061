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
    for (const [pk, pv] of this.pairs) if (pk === k) return pv;
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
    const i = this.pairs.findIndex(([pk]) => pk === k);
    if (i < 0) {
      this.pairs.push([k, value]);
      return;
    }
    this.pairs[i] = [k, value];
    this.pairs = this.pairs.filter(([pk], j) => j <= i || pk !== k);
  }

  remove(key: string): void {
    const k = key.toLowerCase();
    this.pairs = this.pairs.filter(([pk]) => pk !== k);
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

  entries(): HeaderPair[] {
    return this.pairs.map(([k, v]) => [k, v]);
  }

  [Symbol.iterator](): Iterator<HeaderPair> {
    return this.entries()[Symbol.iterator]();
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
