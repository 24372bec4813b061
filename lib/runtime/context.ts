// The filter model: one RootContext per plugin (per worker VM) and one HttpContext per
// HTTP stream. Subclass them and override the callbacks you need; every default lets the
// stream through (Continue / true).

import { Action, BufferType, GRPC_STATUS_NONE, MapType, StreamType } from "../abi/enums";
import {
  addHeader,
  getHeader,
  getHeaderPairs,
  removeHeader,
  replaceHeader,
  setHeaderPairs,
} from "../abi/headers";
import { getBufferBytes, replaceBuffer } from "../abi/buffers";
import { getProperty, getPropertyString, setProperty, setPropertyString } from "../abi/properties";
import { continueStream, closeStream, sendLocalResponse } from "../abi/stream";
import { setTickPeriod } from "../abi/time";
import { HeaderPair } from "../abi/pairs";
import { HttpCallResponse, dispatchHttpCall, deliverToOrigin, HttpCallCallback } from "./http-call";
import { currentContext } from "./state";

/** What both context kinds share: the id the host knows them by. */
export abstract class Context {
  constructor(public readonly id: u32) {}

  /** True for a RootContext. */
  get isRoot(): bool {
    return false;
  }

  /**
   * Called with the response to an HTTP call this context made through `httpCall` without
   * its own callback. For a stream, the effective context has already been switched back
   * to this stream, so header/body/local-response helpers act on it.
   */
  onHttpCallResponse(response: HttpCallResponse): void {}
}

/**
 * One plugin's root context (one per `envoy.filters.http.wasm` entry and worker VM).
 * Holds the configuration and creates the stream contexts.
 */
export class RootContext extends Context {
  /** The plugin's root_id (property `plugin_root_id`), set before onVmStart. */
  rootId: string = "";

  get isRoot(): bool {
    return true;
  }

  /** The VM configuration (vm_config.configuration); false fails the VM. */
  onVmStart(vmConfig: Uint8Array): bool {
    return true;
  }

  /** The plugin configuration; false makes Envoy refuse the configuration. Log why (ERROR) first. */
  onConfigure(config: Uint8Array): bool {
    return true;
  }

  /** Called every tick period (see setTickPeriod). */
  onTick(): void {}

  /** A value was enqueued on a queue this root registered. */
  onQueueReady(queueId: u32): void {}

  /** The host called a foreign function on this plugin. */
  onForeignFunction(functionId: u32, argsSize: u32): void {}

  /** The plugin is being torn down. Return false to finish later with proxy_done. */
  onDone(): bool {
    return true;
  }

  onLog(): void {}

  onDelete(): void {}

  /** Creates the context of a new HTTP stream. Override to return your HttpContext subclass. */
  createHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }

  /** Calls onTick every `ms` milliseconds in this worker (0 stops). Returns the host status. */
  setTickPeriod(ms: u32): i32 {
    return setTickPeriod(ms);
  }

  /**
   * Dispatches an HTTP call to an Envoy cluster. The response arrives on this root context;
   * the runtime switches the effective context back to `origin` (default: the context whose
   * callback is running now) and calls `callback(origin, response)`, or drops the response
   * if that stream has ended. `headers` must include :method, :path and :authority.
   * Returns the token, or the negated WasmResult when the host refuses the call.
   */
  httpCall(cluster: string, headers: HeaderPair[], body: ArrayBuffer | null, timeoutMs: u32, callback: HttpCallCallback, origin: Context | null = null): i64 {
    const o = origin != null ? origin : currentContext();
    return dispatchHttpCall(cluster, headers, body, timeoutMs, o != null ? o : this, callback);
  }
}

/**
 * One HTTP stream. Return Action.Continue or Action.Pause from the stream callbacks.
 * Note Envoy's rules: a Pause from a headers callback holds the body too (no body
 * callbacks until continueRequest/continueResponse); headers are writable only in their
 * own callback or while held.
 *
 * Body buffering: set `bufferRequestBody` (or `bufferResponseBody`) to true, at the latest
 * in the headers callback, and the runtime pauses the body until it is complete, then
 * calls onRequestBodyComplete (onResponseBodyComplete) once with the whole body instead of
 * onRequestBody. A request without a body (headers with endOfStream) gets no body callback.
 */
export class HttpContext extends Context {
  bufferRequestBody: bool = false;
  bufferResponseBody: bool = false;
  /** @internal Set once the buffered body has been delivered. */
  requestBodyDelivered: bool = false;
  /** @internal */
  responseBodyDelivered: bool = false;
  /** @internal A body callback has been seen (so trailers may complete the buffered body). */
  requestBodySeen: bool = false;
  /** @internal */
  responseBodySeen: bool = false;

  constructor(id: u32, public readonly root: RootContext) {
    super(id);
  }

  /**
   * @internal For StreamPool: makes a context whose stream was deleted the context of the new
   * stream `id`, with the runtime's per-stream state reset. A subclass that keeps per-stream
   * fields of its own resets them in its override and calls super.
   */
  rebind(id: u32): void {
    // `id` is read-only to filters; only the pool moves a context to another stream.
    store<u32>(changetype<usize>(this) + offsetof<Context>("id"), id);
    this.bufferRequestBody = false;
    this.bufferResponseBody = false;
    this.requestBodyDelivered = false;
    this.responseBodyDelivered = false;
    this.requestBodySeen = false;
    this.responseBodySeen = false;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    return Action.Continue;
  }
  onRequestBody(bodySize: u32, endOfStream: bool): i32 {
    return Action.Continue;
  }
  /** With bufferRequestBody: the whole request body, once. Edit it with replaceRequestBody. */
  onRequestBodyComplete(body: Uint8Array): i32 {
    return Action.Continue;
  }
  onRequestTrailers(numTrailers: u32): i32 {
    return Action.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    return Action.Continue;
  }
  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    return Action.Continue;
  }
  /** With bufferResponseBody: the whole response body, once. Edit it with replaceResponseBody. */
  onResponseBodyComplete(body: Uint8Array): i32 {
    return Action.Continue;
  }
  onResponseTrailers(numTrailers: u32): i32 {
    return Action.Continue;
  }
  /** The access-log pass (Envoy runs log, then done, then delete). Headers are readable here. */
  onLog(): void {}
  onDone(): bool {
    return true;
  }
  onDelete(): void {}

  // --- request headers ---
  getRequestHeader(name: string): string | null {
    return getHeader(MapType.HttpRequestHeaders, name);
  }
  getRequestHeaders(): HeaderPair[] {
    const p = getHeaderPairs(MapType.HttpRequestHeaders);
    return p != null ? p : new Array<HeaderPair>();
  }
  setRequestHeaders(pairs: HeaderPair[]): i32 {
    return setHeaderPairs(MapType.HttpRequestHeaders, pairs);
  }
  addRequestHeader(name: string, value: string): i32 {
    return addHeader(MapType.HttpRequestHeaders, name, value);
  }
  replaceRequestHeader(name: string, value: string): i32 {
    return replaceHeader(MapType.HttpRequestHeaders, name, value);
  }
  removeRequestHeader(name: string): i32 {
    return removeHeader(MapType.HttpRequestHeaders, name);
  }

  // --- response headers ---
  getResponseHeader(name: string): string | null {
    return getHeader(MapType.HttpResponseHeaders, name);
  }
  getResponseHeaders(): HeaderPair[] {
    const p = getHeaderPairs(MapType.HttpResponseHeaders);
    return p != null ? p : new Array<HeaderPair>();
  }
  setResponseHeaders(pairs: HeaderPair[]): i32 {
    return setHeaderPairs(MapType.HttpResponseHeaders, pairs);
  }
  addResponseHeader(name: string, value: string): i32 {
    return addHeader(MapType.HttpResponseHeaders, name, value);
  }
  replaceResponseHeader(name: string, value: string): i32 {
    return replaceHeader(MapType.HttpResponseHeaders, name, value);
  }
  removeResponseHeader(name: string): i32 {
    return removeHeader(MapType.HttpResponseHeaders, name);
  }

  // --- bodies (what the host has buffered now; the whole body inside a *BodyComplete) ---
  getRequestBody(): Uint8Array | null {
    const b = getBufferBytes(BufferType.HttpRequestBody, 0, 0x7fffffff);
    return b != null ? Uint8Array.wrap(b) : null;
  }
  replaceRequestBody(body: Uint8Array): i32 {
    return replaceBuffer(BufferType.HttpRequestBody, body);
  }
  getResponseBody(): Uint8Array | null {
    const b = getBufferBytes(BufferType.HttpResponseBody, 0, 0x7fffffff);
    return b != null ? Uint8Array.wrap(b) : null;
  }
  replaceResponseBody(body: Uint8Array): i32 {
    return replaceBuffer(BufferType.HttpResponseBody, body);
  }

  // --- stream control ---
  /** Replies to the client; return Pause afterwards (Envoy forces Stop anyway). */
  sendLocalResponse(status: u32, details: string, body: ArrayBuffer | null, headers: HeaderPair[], grpcStatus: i32 = GRPC_STATUS_NONE): i32 {
    return sendLocalResponse(status, details, body, headers, grpcStatus);
  }
  continueRequest(): i32 {
    return continueStream(StreamType.HttpRequest);
  }
  continueResponse(): i32 {
    return continueStream(StreamType.HttpResponse);
  }
  closeRequest(): i32 {
    return closeStream(StreamType.HttpRequest);
  }
  closeResponse(): i32 {
    return closeStream(StreamType.HttpResponse);
  }

  // --- properties ---
  getProperty(path: string[]): ArrayBuffer | null {
    return getProperty(path);
  }
  getPropertyString(path: string[]): string | null {
    return getPropertyString(path);
  }
  setProperty(path: string[], value: ArrayBuffer): i32 {
    return setProperty(path, value);
  }
  setPropertyString(path: string[], value: string): i32 {
    return setPropertyString(path, value);
  }

  /** An HTTP call whose response comes back to this stream's onHttpCallResponse. See RootContext.httpCall. */
  httpCall(cluster: string, headers: HeaderPair[], body: ArrayBuffer | null, timeoutMs: u32): i64 {
    return dispatchHttpCall(cluster, headers, body, timeoutMs, this, deliverToOrigin);
  }
}

/** Stands in when no factory matches the plugin's root_id: refuses the configuration, loudly. */
export class UnregisteredRootContext extends RootContext {
  onConfigure(config: Uint8Array): bool {
    return false;
  }
}
