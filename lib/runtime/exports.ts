// Every proxy_on_* entry point Envoy calls, dispatched to the registered contexts.
// A filter's index.ts does `export * from "../../lib/runtime/exports";`.
// Unknown context ids are answered with Continue/true rather than a trap: a trap would
// fail the worker's VM and turn every later request into a 503.

import { Action, BufferType } from "../abi/enums";
import { getBufferBytes, getBufferSize } from "../abi/buffers";
import { getPropertyString } from "../abi/properties";
import { logError } from "../abi/log";
import { HttpContext, RootContext, UnregisteredRootContext } from "./context";
import { forgetCallsOf, onHttpCallResponse } from "./http-call";
import { isProtobufStruct, STRUCT_CONFIG_MESSAGE } from "./config";
import {
  addRoot,
  addStream,
  contextById,
  factoryFor,
  removeContext,
  rootById,
  streamById,
} from "./state";
import { beginCallback, endCallback } from "./collect";

export { malloc, proxy_abi_version_0_2_1 } from "../abi/exports";

/** A stand-in parent for a stream whose root is unknown (should not happen with Envoy). */
let orphanRoot: RootContext | null = null;

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    const rootIdProp = getPropertyString(["plugin_root_id"]);
    const rootId = rootIdProp != null ? rootIdProp : "";
    const factory = factoryFor(rootId);
    let root: RootContext;
    if (factory != null) {
      root = factory(contextId);
    } else {
      logError("no root context registered for root_id '" + rootId + "'");
      root = new UnregisteredRootContext(contextId);
    }
    root.rootId = rootId;
    addRoot(root);
    return;
  }
  let parent = rootById(parentId);
  if (parent == null) {
    let o = orphanRoot;
    if (o == null) orphanRoot = o = new RootContext(0);
    parent = o;
  }
  addStream(parent.createHttpContext(contextId));
}

function readConfig(type: i32, size: u32): Uint8Array {
  if (size == 0) return new Uint8Array(0);
  const b = getBufferBytes(type, 0, size);
  return b != null ? Uint8Array.wrap(b) : new Uint8Array(0);
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  const root = rootById(rootId);
  if (root == null) return true;
  beginCallback(root);
  const ok = root.onVmStart(readConfig(BufferType.VmConfiguration, vmConfigSize));
  endCallback();
  return ok;
}

export function proxy_on_configure(rootId: u32, configSize: u32): bool {
  const root = rootById(rootId);
  if (root == null) return true;
  beginCallback(root);
  const config = readConfig(BufferType.PluginConfiguration, configSize);
  let ok = false;
  if (isProtobufStruct(config)) {
    const name = getPropertyString(["plugin_name"]);
    logError((name != null && name.length > 0 ? name + ": " : "") + STRUCT_CONFIG_MESSAGE);
  } else {
    ok = root.onConfigure(config);
  }
  endCallback(true);
  return ok;
}

export function proxy_on_tick(rootId: u32): void {
  const root = rootById(rootId);
  if (root == null) return;
  beginCallback(root);
  root.onTick();
  endCallback();
}

export function proxy_on_queue_ready(rootId: u32, queueId: u32): void {
  const root = rootById(rootId);
  if (root == null) return;
  beginCallback(root);
  root.onQueueReady(queueId);
  endCallback();
}

export function proxy_on_foreign_function(rootId: u32, functionId: u32, argsSize: u32): void {
  const root = rootById(rootId);
  if (root == null) return;
  beginCallback(root);
  root.onForeignFunction(functionId, argsSize);
  endCallback();
}

export function proxy_on_http_call_response(rootId: u32, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  beginCallback(null);
  onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
  endCallback();
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  const a = ctx.onRequestHeaders(numHeaders, endOfStream);
  endCallback();
  return a;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  let a: i32;
  if (ctx.bufferRequestBody && !ctx.requestBodyDelivered) {
    ctx.requestBodySeen = true;
    if (!endOfStream) {
      a = Action.Pause;
    } else {
      ctx.requestBodyDelivered = true;
      a = ctx.onRequestBodyComplete(bodyReader(BufferType.HttpRequestBody, bodySize));
    }
  } else {
    a = ctx.onRequestBody(bodySize, endOfStream);
  }
  endCallback();
  return a;
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  let a: i32 = Action.Continue;
  // With trailers the last body callback has endOfStream false: complete the body here.
  if (ctx.bufferRequestBody && ctx.requestBodySeen && !ctx.requestBodyDelivered) {
    ctx.requestBodyDelivered = true;
    a = ctx.onRequestBodyComplete(readWholeBody(BufferType.HttpRequestBody));
  }
  if (a == Action.Continue) a = ctx.onRequestTrailers(numTrailers);
  endCallback();
  return a;
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  const a = ctx.onResponseHeaders(numHeaders, endOfStream);
  endCallback();
  return a;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  let a: i32;
  if (ctx.bufferResponseBody && !ctx.responseBodyDelivered) {
    ctx.responseBodySeen = true;
    if (!endOfStream) {
      a = Action.Pause;
    } else {
      ctx.responseBodyDelivered = true;
      a = ctx.onResponseBodyComplete(bodyReader(BufferType.HttpResponseBody, bodySize));
    }
  } else {
    a = ctx.onResponseBody(bodySize, endOfStream);
  }
  endCallback();
  return a;
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): i32 {
  const ctx = streamById(contextId);
  if (ctx == null) return Action.Continue;
  beginCallback(ctx);
  let a: i32 = Action.Continue;
  if (ctx.bufferResponseBody && ctx.responseBodySeen && !ctx.responseBodyDelivered) {
    ctx.responseBodyDelivered = true;
    a = ctx.onResponseBodyComplete(readWholeBody(BufferType.HttpResponseBody));
  }
  if (a == Action.Continue) a = ctx.onResponseTrailers(numTrailers);
  endCallback();
  return a;
}

export function proxy_on_log(contextId: u32): void {
  const ctx = contextById(contextId);
  if (ctx == null) return;
  beginCallback(ctx);
  if (ctx.isRoot) changetype<RootContext>(ctx).onLog();
  else changetype<HttpContext>(ctx).onLog();
  endCallback();
}

export function proxy_on_done(contextId: u32): bool {
  const ctx = contextById(contextId);
  if (ctx == null) return true;
  beginCallback(ctx);
  const r = ctx.isRoot ? changetype<RootContext>(ctx).onDone() : changetype<HttpContext>(ctx).onDone();
  endCallback();
  return r;
}

export function proxy_on_delete(contextId: u32): void {
  const ctx = contextById(contextId);
  if (ctx == null) return;
  beginCallback(ctx);
  if (ctx.isRoot) {
    changetype<RootContext>(ctx).onDelete();
    forgetCallsOf(contextId);
  } else {
    changetype<HttpContext>(ctx).onDelete();
  }
  endCallback();
  removeContext(contextId);
}

/** Reads a buffered body: (buffer type, size) to its bytes. */
export type BodyReader = (type: i32, bodySize: u32) => Uint8Array;

/**
 * What reads a completed buffered body for onRequestBodyComplete / onResponseBodyComplete.
 * A module whose filters never keep the body past that callback may read it into memory it
 * reuses (lib/prompt/read.ts); the default hands each body its own buffer.
 */
let bodyReader: BodyReader = readBody;

/** Replaces the module's body reader (call at top level, before any stream). */
export function setBodyReader(reader: BodyReader): void {
  bodyReader = reader;
}

/** The body Envoy has buffered: `bodySize` is the whole of it while the filter kept pausing. */
export function readBody(type: i32, bodySize: u32): Uint8Array {
  if (bodySize == 0) return new Uint8Array(0);
  const b = getBufferBytes(type, 0, bodySize);
  return b != null ? Uint8Array.wrap(b) : new Uint8Array(0);
}

function readWholeBody(type: i32): Uint8Array {
  const size = getBufferSize(type);
  return size > 0 ? bodyReader(type, <u32>size) : new Uint8Array(0);
}
