// A headers callback's reads and changes of one header map, in one of two ways:
// - snapshot: the map read once (get_header_map_pairs) and kept in step with the filter's own
//   changes, so reads need no host call and a removal of an absent header (which changes
//   nothing) is skipped. Worth it where the pairs are read anyway (the response side masks
//   every header value);
// - direct: each read and change is its own host call. Cheaper where a callback reads only a
//   few headers: the pairs call encodes and decodes every header (the request side).
//
// The snapshot follows the host map's rules (host/http/header-map.ts, Envoy's HeaderMapImpl):
// names compared lower-cased, a read answers the first entry, a replacement sets the first
// entry and drops the others (or appends), a removal drops every entry.

import { HttpContext } from "../../runtime";
import { HeaderPair } from "../../abi/pairs";

/** `name` lower-cased; itself when it has no upper-case letter (the usual case: no copy). */
function lowered(name: string): string {
  for (let i = 0, n = name.length; i < n; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return name.toLowerCase();
  }
  return name;
}

export class HeaderView {
  constructor(
    private ctx: HttpContext,
    private request: bool,
    /** The snapshot, or null for direct host calls. */
    public pairs: HeaderPair[] | null,
  ) {}

  /** Direct host calls on the request headers of `ctx`. */
  static request(ctx: HttpContext): HeaderView {
    return new HeaderView(ctx, true, null);
  }

  /** A snapshot of the response headers of `ctx` as they are now. */
  static response(ctx: HttpContext): HeaderView {
    return new HeaderView(ctx, false, ctx.getResponseHeaders());
  }

  private indexOf(ps: HeaderPair[], key: string, from: i32 = 0): i32 {
    for (let i = from, n = ps.length; i < n; i++) if (unchecked(ps[i]).key == key) return i;
    return -1;
  }

  /** The first value of `name`, or null (as get_header_map_value answers). */
  get(name: string): string | null {
    const ps = this.pairs;
    if (ps == null) return this.request ? this.ctx.getRequestHeader(name) : this.ctx.getResponseHeader(name);
    const i = this.indexOf(ps, lowered(name));
    return i >= 0 ? unchecked(ps[i]).value : null;
  }

  /** Replaces `name` (in a snapshot: unless it already is exactly one entry with `value`). */
  replace(name: string, value: string): void {
    const ps = this.pairs;
    let i = -1;
    let key = name;
    if (ps != null) {
      key = lowered(name);
      i = this.indexOf(ps, key);
      if (i >= 0 && unchecked(ps[i]).value == value && this.indexOf(ps, key, i + 1) < 0) return;
    }
    if (this.request) this.ctx.replaceRequestHeader(name, value);
    else this.ctx.replaceResponseHeader(name, value);
    if (ps == null) return;
    if (i < 0) {
      ps.push(new HeaderPair(key, value));
      return;
    }
    unchecked(ps[i]).value = value;
    drop(ps, key, i + 1);
  }

  /** Removes every entry of `name` (in a snapshot: only when there is one). */
  remove(name: string): void {
    const ps = this.pairs;
    let key = name;
    if (ps != null) {
      key = lowered(name);
      if (this.indexOf(ps, key) < 0) return;
    }
    if (this.request) this.ctx.removeRequestHeader(name);
    else this.ctx.removeResponseHeader(name);
    if (ps != null) drop(ps, key, 0);
  }
}

/** Drops the entries named `key` at or after `from`. */
function drop(ps: HeaderPair[], key: string, from: i32): void {
  let w = from;
  for (let r = from, n = ps.length; r < n; r++) {
    const p = unchecked(ps[r]);
    if (p.key == key) continue;
    unchecked((ps[w] = p));
    w++;
  }
  ps.length = w;
}
