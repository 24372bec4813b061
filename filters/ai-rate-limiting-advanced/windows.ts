// One request's view of its windows: the rate each showed at admission, whether it denied
// the request, and what the request reserved in it. Kong's headers and denial body are made
// from this (reference kong-ai-plugins.md §9.2).

import { HeaderPair } from "../../lib/abi/pairs";
import { MapType } from "../../lib/abi/enums";
import { replaceHeaderAt } from "../../lib/abi/headers";
import { encodeAt, scratchFor } from "../../lib/abi/memory";
import { decimalAt, JsonWriter } from "../../lib/llm/json-writer";
import { windowReset } from "../../lib/ratelimit/window";
import { CountStrategy, RateLimitConfig, REQUEST_PROMPT, Window } from "./config";

export class WindowState {
  /** The descriptor's identifier (cluster). */
  base: string = "";
  /** The encoded key of the slot of the window the request was admitted in (local). */
  key: ArrayBuffer = EMPTY;
  /** Start of the window the request was admitted in (seconds). */
  start: i64 = 0;
  /** The window's rate at admission, before this request (reservations of others included). */
  rate: f64 = 0;
  denied: bool = false;
  /** Seconds until the window frees up (denied windows). */
  reset: i64 = 0;
  /** What this request has added to the window's count so far. */
  reserved: f64 = 0;
  /** The limit the store reported, when it holds the limits (cluster); else the configured one. */
  limit: f64;

  constructor(public w: Window) {
    this.limit = w.limit;
  }

  get isRequestPrompt(): bool {
    return this.w.provider == REQUEST_PROMPT;
  }
}

const EMPTY = new ArrayBuffer(0);

/** floor(max(limit − rate, 0)), or the fraction with the cost strategy. */
function remainingOf(s: WindowState, cfg: RateLimitConfig): f64 {
  const r = max<f64>(s.limit - s.rate, 0);
  return cfg.strategy == CountStrategy.Cost ? r : Math.floor(r);
}

/** Whether numberText writes `v` as an integer. */
@inline function integral(v: f64): bool {
  return v == Math.floor(v) && Math.abs(v) < 9007199254740992.0;
}

export function numberText(v: f64): string {
  if (!isFinite(v)) return "0";
  if (integral(v)) return (<i64>v).toString();
  return v.toString();
}

/** Sets response header `key` to numberText(v), an integer written in place (no string). */
function replaceNumber(key: ArrayBuffer, v: f64): void {
  // Room for an i64's digits, or for a fraction's text (f64's shortest form is at most 24 characters).
  const p = scratchFor(72);
  const end = isFinite(v) && integral(v) ? decimalAt(p, <i64>v) : p + <usize>encodeAt(numberText(v), p);
  replaceHeaderAt(MapType.HttpResponseHeaders, key, p, end - p);
}

/** limitHeaders set on the admitted request's response, each with one host call and no allocation. */
export function replaceLimitHeaders(states: WindowState[], cfg: RateLimitConfig, queryCost: f64): void {
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    const n = s.w.headers;
    replaceNumber(n.limitKey, s.limit);
    replaceNumber(n.remainingKey, remainingOf(s, cfg));
    if (s.isRequestPrompt && queryCost >= 0) replaceNumber(n.queryCostKey, queryCost);
  }
}

/** Kong's X-AI-RateLimit-Limit/-Remaining for every window (Query-Cost for requestPrompt). */
export function limitHeaders(states: WindowState[], cfg: RateLimitConfig, queryCost: f64, out: HeaderPair[]): void {
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    const n = s.w.headers;
    out.push(new HeaderPair(n.limit, numberText(s.limit)));
    out.push(new HeaderPair(n.remaining, numberText(remainingOf(s, cfg))));
    if (s.isRequestPrompt && queryCost >= 0) out.push(new HeaderPair(n.queryCost, numberText(queryCost)));
  }
}

/** The denial: Kong's body and headers. `now` in seconds; `jitter` already drawn. */
export class Denial {
  status: u32 = 429;
  body: ArrayBuffer = new ArrayBuffer(0);
  headers: HeaderPair[] = [];
  providers: string[] = [];
}

export function denial(states: WindowState[], cfg: RateLimitConfig, now: i64, jitter: i64): Denial {
  const d = new Denial();
  d.status = cfg.errorCode;
  const h = d.headers;
  h.push(new HeaderPair("content-type", "application/json; charset=utf-8"));
  if (!cfg.hideClientHeaders) limitHeaders(states, cfg, -1, h);
  let maxReset: i64 = 0;
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    if (!s.denied) continue;
    if (!d.providers.includes(s.w.provider)) d.providers.push(s.w.provider);
    const reset = s.reset > 0 ? s.reset : windowReset(s.rate, s.limit, now, s.w.size, cfg.sliding);
    if (reset > maxReset) maxReset = reset;
    if (!cfg.hideClientHeaders) {
      h.push(new HeaderPair(s.w.headers.reset, reset.toString()));
      h.push(new HeaderPair(s.w.headers.retryAfter, (reset + jitter).toString()));
    }
  }
  const retry = (maxReset + jitter).toString();
  if (!cfg.hideClientHeaders) {
    h.push(new HeaderPair("X-AI-RateLimit-Reset", maxReset.toString()));
    h.push(new HeaderPair("X-AI-RateLimit-Retry-After", retry));
  }
  h.push(new HeaderPair("Retry-After", retry));
  const msg = cfg.errorHideProviders ? cfg.errorMessage : cfg.errorMessage + d.providers.join(", ");
  const w = new JsonWriter();
  w.beginObject().fieldString("message", msg).endObject();
  const b = w.toBytes();
  d.body = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return d;
}
