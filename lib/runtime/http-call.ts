// HTTP callouts. Envoy owns every call by the root context, so the response arrives in
// proxy_on_http_call_response with the root id; to act on the stream that made the call
// the runtime calls proxy_set_effective_context(origin) first. A response whose origin
// stream has ended is dropped. num_headers == 0 means the call failed (reset).

import { BufferType, MapType, WasmResult } from "../abi/enums";
import { getBufferBytes } from "../abi/buffers";
import { getHeaderPairs } from "../abi/headers";
import { getStatus, httpCall } from "../abi/http-call";
import { findPair, HeaderPair } from "../abi/pairs";
import { setEffectiveContext } from "../abi/context";
import { logDebug } from "../abi/log";
import { Context, HttpContext } from "./context";
import { contextById, setCurrentContext } from "./state";

/** The outcome of an HTTP call, read when it arrived (the host's maps and buffer are gone after). */
export class HttpCallResponse {
  /** The call failed (reset, or a response over the buffer limit): no headers, body or trailers. */
  failed: bool = false;
  /** For a failed call: the host's status message (Envoy: "reset"). */
  failure: string = "";
  headers: HeaderPair[] = [];
  body: Uint8Array = new Uint8Array(0);
  trailers: HeaderPair[] = [];

  constructor(public token: u32) {}

  /** The :status as a number, 0 when absent or failed. Timeouts arrive as 504, connect errors as 503. */
  get status(): i32 {
    const s = findPair(this.headers, ":status");
    if (s == null) return 0;
    let n: i32 = 0;
    const len = s.length;
    if (len == 0 || len > 3) return 0;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return 0;
      n = n * 10 + c;
    }
    return n;
  }

  header(name: string): string | null {
    return findPair(this.headers, name);
  }

  /** The body as UTF-8 text. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.byteLength);
  }
}

/** Receives an HTTP call's response, with the context that made the call. */
export type HttpCallCallback = (origin: Context, response: HttpCallResponse) => void;

/** The default callback: the origin context's onHttpCallResponse. */
export function deliverToOrigin(origin: Context, response: HttpCallResponse): void {
  origin.onHttpCallResponse(response);
}

class PendingCall {
  constructor(
    public rootId: u32,
    public originId: u32,
    public callback: HttpCallCallback,
  ) {}
}

const pending = new Map<u32, PendingCall>();

/** @internal Used by RootContext.httpCall and HttpContext.httpCall. */
export function dispatchHttpCall(cluster: string, headers: HeaderPair[], body: ArrayBuffer | null, timeoutMs: u32, origin: Context, callback: HttpCallCallback): i64 {
  const token = httpCall(cluster, headers, body, [], timeoutMs);
  if (token >= 0) {
    const rootId = origin.isRoot ? origin.id : changetype<HttpContext>(origin).root.id;
    pending.set(<u32>token, new PendingCall(rootId, origin.id, callback));
  }
  return token;
}

/** @internal proxy_on_http_call_response. */
export function onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  if (!pending.has(token)) return;
  const call = pending.get(token);
  pending.delete(token);
  const origin = contextById(call.originId);
  if (origin == null) {
    logDebug("http call " + token.toString() + ": origin context " + call.originId.toString() + " has ended; response dropped");
    return;
  }
  const res = new HttpCallResponse(token);
  if (numHeaders == 0) {
    res.failed = true;
    const st = getStatus();
    res.failure = st != null ? st.message : "reset";
  } else {
    const h = getHeaderPairs(MapType.HttpCallResponseHeaders);
    if (h != null) res.headers = h;
    if (bodySize > 0) {
      const b = getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize);
      if (b != null) res.body = Uint8Array.wrap(b);
    }
    if (numTrailers > 0) {
      const t = getHeaderPairs(MapType.HttpCallResponseTrailers);
      if (t != null) res.trailers = t;
    }
  }
  if (!origin.isRoot && setEffectiveContext(origin.id) != WasmResult.Ok) return;
  setCurrentContext(origin);
  call.callback(origin, res);
}

/** @internal Drops the calls owned by a root context being deleted (Envoy cancels them). */
export function forgetCallsOf(rootId: u32): void {
  const keys = pending.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (pending.get(k).rootId == rootId) pending.delete(k);
  }
}
