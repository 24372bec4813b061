// A header map read once (get_header_map_pairs) and kept in step with the filter's own changes,
// so a headers callback answers its reads without a host call each and skips removing headers
// that are not there. A host call costs far more than a look through a dozen pairs; a removal
// of an absent header changes nothing (Envoy's remove is a no-op then, and the route cache it
// clears is cleared by the same callback's replacement of :path anyway).
//
// The view follows the host map's rules (host/http/header-map.ts, Envoy's HeaderMapImpl):
// names compared lower-cased, a read answers the first entry, a replacement sets the first
// entry and drops the others (or appends), a removal drops every entry.

import { HttpContext } from "../../runtime";
import { HeaderPair } from "../../abi/pairs";

export class HeaderView {
  constructor(
    private ctx: HttpContext,
    private request: bool,
    public pairs: HeaderPair[],
  ) {}

  /** The request (or response) headers of `ctx` as they are now. */
  static request(ctx: HttpContext): HeaderView {
    return new HeaderView(ctx, true, ctx.getRequestHeaders());
  }

  static response(ctx: HttpContext): HeaderView {
    return new HeaderView(ctx, false, ctx.getResponseHeaders());
  }

  private indexOf(lower: string): i32 {
    const ps = this.pairs;
    for (let i = 0, n = ps.length; i < n; i++) if (unchecked(ps[i]).key == lower) return i;
    return -1;
  }

  /** The first value of `name`, or null (as get_header_map_value answers). */
  get(name: string): string | null {
    const i = this.indexOf(name.toLowerCase());
    return i >= 0 ? unchecked(this.pairs[i]).value : null;
  }

  /** Replaces `name` through the host unless it already is exactly one entry with `value`. */
  replace(name: string, value: string): void {
    const lower = name.toLowerCase();
    const i = this.indexOf(lower);
    if (i >= 0 && unchecked(this.pairs[i]).value == value && this.countFrom(lower, i + 1) == 0) return;
    if (this.request) this.ctx.replaceRequestHeader(name, value);
    else this.ctx.replaceResponseHeader(name, value);
    if (i < 0) {
      this.pairs.push(new HeaderPair(lower, value));
      return;
    }
    unchecked(this.pairs[i]).value = value;
    this.drop(lower, i + 1);
  }

  /** Removes `name` through the host when it is present. */
  remove(name: string): void {
    const lower = name.toLowerCase();
    if (this.indexOf(lower) < 0) return;
    if (this.request) this.ctx.removeRequestHeader(name);
    else this.ctx.removeResponseHeader(name);
    this.drop(lower, 0);
  }

  private countFrom(lower: string, from: i32): i32 {
    let c = 0;
    const ps = this.pairs;
    for (let i = from, n = ps.length; i < n; i++) if (unchecked(ps[i]).key == lower) c++;
    return c;
  }

  /** Drops the entries named `lower` at or after `from` from the view. */
  private drop(lower: string, from: i32): void {
    const ps = this.pairs;
    let w = from;
    for (let r = from, n = ps.length; r < n; r++) {
      const p = unchecked(ps[r]);
      if (p.key == lower) continue;
      unchecked((ps[w] = p));
      w++;
    }
    ps.length = w;
  }
}
