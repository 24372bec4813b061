// probe: a scripted test filter for the host conformance suite. Written directly on the raw
// lib/abi imports so tests see the host's raw statuses. The plugin configuration maps a
// callback name to a list of ops; each op makes one host call and logs one INFO line.
// See README.md for the script language and the exact log format.
// It does not use lib/runtime, so it never collects its garbage (the minimal runtime collects
// only when asked: lib/runtime/collect.ts): it serves short conformance tests, not long runs.

export { malloc, proxy_abi_version_0_2_1 } from "../../../lib/abi/exports";

import { JSON } from "json-as";
import { LogLevel, WasmResult } from "../../../lib/abi/enums";
import * as abi from "../../../lib/abi/imports";
import { clearSlots, releasePins, RET_EXTRA, RET_PTR, RET_SIZE, takeReturned, takeReturnedSlots } from "../../../lib/abi/memory";
import { deserializePairs, serializePairs } from "../../../lib/abi/pairs";
import { PropertyReader, serializePath } from "../../../lib/abi/properties";
import { lastStatus } from "../../../lib/abi/status";
import { arrAt, parseObject, valueArr, valueString } from "../../../lib/json/read";
import { fd_write } from "bindings/wasi_snapshot_preview1";
import { Args } from "./args";
import { hex, pairsJson } from "./format";

// --- state (per VM) ---

/** Scripts of each root context (its plugin configuration), by root context id. */
const rootScripts = new Map<u32, JSON.Obj>();
/** The VM configuration's scripts (only on_vm_start is read from it). */
let vmScripts: JSON.Obj | null = null;
/** Each stream's root context. */
const streamRoot = new Map<u32, u32>();
/** http_call token -> the context that made the call. */
const callOrigin = new Map<u32, u32>();
/** define_metric name -> id. */
const metricIds = new Map<string, u32>();
/** The token of the http-call response being handled (for resume_origin). */
let currentToken: u32 = 0;
let inHttpCallResponse = false;

// --- logging ---

function info(msg: string): void {
  const m = String.UTF8.encode(msg);
  abi.proxy_log(LogLevel.Info, changetype<usize>(m), m.byteLength);
}

function report(cb: string, op: string, status: i32, rest: string): void {
  info("probe " + cb + " " + op + " status=" + status.toString() + (rest.length ? " " + rest : ""));
}

function probeError(cb: string, msg: string): void {
  info("probe error " + cb + ": " + msg);
}

// --- scripts ---

function rootOf(ctx: u32): u32 {
  return streamRoot.has(ctx) ? streamRoot.get(ctx) : ctx;
}

function scriptFor(cb: string, ctx: u32): JSON.Arr | null {
  let scripts: JSON.Obj | null = null;
  if (cb == "on_vm_start") scripts = vmScripts;
  else {
    const r = rootOf(ctx);
    if (rootScripts.has(r)) scripts = rootScripts.get(r);
  }
  if (scripts == null) return null;
  const v = scripts.get(cb);
  if (v == null) return null;
  const a = valueArr(v);
  if (a == null) probeError(cb, "script must be an array of ops");
  return a;
}

/**
 * Runs the callback's script; returns the value of its last `return` op, or `dflt`.
 * With `eos`, a script under "<cb>:eos" takes the place of "<cb>" when it exists.
 */
function run(cb: string, ctx: u32, dflt: i32, eos: bool = false): i32 {
  let script: JSON.Arr | null = null;
  if (eos) script = scriptFor(cb + ":eos", ctx);
  if (script == null) script = scriptFor(cb, ctx);
  if (script == null) return dflt;
  let ret = dflt;
  for (let i = 0; i < script.length; i++) {
    const op = valueArr(arrAt(script, i));
    const name = op != null ? valueString(arrAt(op, 0)) : null;
    if (op == null || name == null) {
      probeError(cb, "op " + i.toString() + " must be an array starting with the op name");
      continue;
    }
    const a = new Args(op);
    if (name == "return") {
      const r = <i32>a.int(1);
      if (a.error != null) probeError(cb, "return: " + a.error!);
      else ret = r;
      continue;
    }
    exec(cb, name, a);
  }
  return ret;
}

// --- ops ---

function bytesResult(): ArrayBuffer {
  return takeReturnedSlots();
}

function exec(cb: string, op: string, a: Args): void {
  let status: i32 = 0;
  let rest = "";
  if (op == "log") {
    const level = <i32>a.int(1);
    const msg = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_log(level, changetype<usize>(msg), msg.byteLength);
  } else if (op == "get_log_level") {
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_get_log_level(RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "fd_write") {
    const fd = <u32>a.int(1);
    const msg = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    // iovec {buf, len} in RET_PTR/RET_SIZE, nwritten in RET_EXTRA.
    store<u32>(RET_PTR, <u32>changetype<usize>(msg));
    store<u32>(RET_PTR + 4, <u32>msg.byteLength);
    store<u32>(RET_EXTRA, 0);
    status = <i32>fd_write(fd, RET_PTR, 1, RET_EXTRA);
    if (status == 0) rest = "value=" + load<u32>(RET_EXTRA).toString();
  } else if (op == "get_current_time") {
    store<u64>(RET_SIZE, 0);
    status = abi.proxy_get_current_time_nanoseconds(RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u64>(RET_SIZE).toString();
  } else if (op == "get_header") {
    const map = <i32>a.int(1);
    const key = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) rest = "value=" + String.UTF8.decode(v);
  } else if (op == "add_header" || op == "replace_header") {
    const map = <i32>a.int(1);
    const key = String.UTF8.encode(a.str(2));
    const val = String.UTF8.encode(a.str(3));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status =
      op == "add_header"
        ? abi.proxy_add_header_map_value(map, changetype<usize>(key), key.byteLength, changetype<usize>(val), val.byteLength)
        : abi.proxy_replace_header_map_value(map, changetype<usize>(key), key.byteLength, changetype<usize>(val), val.byteLength);
  } else if (op == "remove_header") {
    const map = <i32>a.int(1);
    const key = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_remove_header_map_value(map, changetype<usize>(key), key.byteLength);
  } else if (op == "get_headers") {
    const map = <i32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) {
      const pairs = deserializePairs(v);
      rest = pairs != null ? "value=" + pairsJson(pairs) : "malformed_hex=" + hex(v);
    }
  } else if (op == "set_headers") {
    const map = <i32>a.int(1);
    const pairs = a.pairs(2);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    const buf = serializePairs(pairs);
    status = abi.proxy_set_header_map_pairs(map, changetype<usize>(buf), buf.byteLength);
  } else if (op == "header_size") {
    const map = <i32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_get_header_map_size(map, RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "get_buffer") {
    const type = <i32>a.int(1);
    const start = <u32>a.int(2);
    const max = <u32>a.int(3);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_buffer_bytes(type, start, max, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) rest = "size=" + v.byteLength.toString() + " value=" + String.UTF8.decode(v);
  } else if (op == "set_buffer") {
    const type = <i32>a.int(1);
    const start = <u32>a.int(2);
    const size = <u32>a.int(3);
    const data = String.UTF8.encode(a.str(4));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_set_buffer_bytes(type, start, size, changetype<usize>(data), data.byteLength);
  } else if (op == "buffer_status") {
    const type = <i32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_buffer_status(type, RET_SIZE, RET_EXTRA);
    if (status == WasmResult.Ok) rest = "flags=" + load<u32>(RET_EXTRA).toString() + " value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "send_local_response") {
    const code = <u32>a.int(1);
    const details = String.UTF8.encode(a.str(2));
    const body = String.UTF8.encode(a.str(3));
    const headers = serializePairs(a.pairs(4));
    const grpc = a.length > 5 ? <i32>a.int(5) : -1;
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_send_local_response(
      code,
      changetype<usize>(details), details.byteLength,
      changetype<usize>(body), body.byteLength,
      changetype<usize>(headers), headers.byteLength,
      grpc,
    );
  } else if (op == "continue_stream" || op == "close_stream") {
    const type = <i32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = op == "continue_stream" ? abi.proxy_continue_stream(type) : abi.proxy_close_stream(type);
  } else if (op == "http_call") {
    const cluster = String.UTF8.encode(a.str(1));
    const headers = serializePairs(a.pairs(2));
    const body = String.UTF8.encode(a.str(3));
    const timeout = <u32>a.int(4);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    const trailers = serializePairs([]);
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_http_call(
      changetype<usize>(cluster), cluster.byteLength,
      changetype<usize>(headers), headers.byteLength,
      changetype<usize>(body), body.byteLength,
      changetype<usize>(trailers), trailers.byteLength,
      timeout,
      RET_SIZE,
    );
    if (status == WasmResult.Ok) {
      const token = load<u32>(RET_SIZE);
      callOrigin.set(token, currentCtx);
      rest = "value=" + token.toString();
    }
  } else if (op == "grpc_call" || op == "grpc_stream") {
    const cluster = String.UTF8.encode(a.str(1));
    const service = String.UTF8.encode(a.str(2));
    const method = String.UTF8.encode(a.str(3));
    const md = serializePairs(a.pairs(4));
    const unary = op == "grpc_call";
    const msg = String.UTF8.encode(unary ? a.str(5) : "");
    const timeout = unary ? <u32>a.int(6) : 0;
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    store<u32>(RET_SIZE, 0);
    status = unary
      ? abi.proxy_grpc_call(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(service), service.byteLength, changetype<usize>(method), method.byteLength, changetype<usize>(md), md.byteLength, changetype<usize>(msg), msg.byteLength, timeout, RET_SIZE)
      : abi.proxy_grpc_stream(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(service), service.byteLength, changetype<usize>(method), method.byteLength, changetype<usize>(md), md.byteLength, RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "grpc_send") {
    const token = <u32>a.int(1);
    const msg = String.UTF8.encode(a.str(2));
    const end = <u32>a.int(3);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_grpc_send(token, changetype<usize>(msg), msg.byteLength, end);
  } else if (op == "grpc_close" || op == "grpc_cancel") {
    const token = <u32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = op == "grpc_close" ? abi.proxy_grpc_close(token) : abi.proxy_grpc_cancel(token);
  } else if (op == "resume_origin") {
    if (!inHttpCallResponse || !callOrigin.has(currentToken)) return probeError(cb, op + ": not in the response to a probe http_call");
    const origin = callOrigin.get(currentToken);
    status = abi.proxy_set_effective_context(origin);
    rest = "value=" + origin.toString();
  } else if (op == "set_effective_context") {
    const id = <u32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_set_effective_context(id);
  } else if (op == "get_status") {
    clearSlots();
    status = abi.proxy_get_status(RET_EXTRA, RET_PTR, RET_SIZE);
    const code = load<u32>(RET_EXTRA);
    const msg = takeReturned(load<u32>(RET_PTR), load<u32>(RET_SIZE));
    releasePins();
    if (status == WasmResult.Ok) rest = "code=" + code.toString() + " value=" + code.toString() + " " + String.UTF8.decode(msg);
  } else if (op == "get_property") {
    const path = serializePath(a.strs(1));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_property(changetype<usize>(path), path.byteLength, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) {
      rest = "value_hex=" + hex(v);
      if (v.byteLength == 8) rest += " value_i64=" + load<i64>(changetype<usize>(v)).toString();
      rest += " value=" + String.UTF8.decode(v);
    }
  } else if (op == "read_property") {
    // lib/abi's PropertyReader, with a region of `capacity` bytes: read twice (the second read
    // after any growth), each logged as get_property logs its value.
    const path = serializePath(a.strs(1));
    const cap = <i32>a.int(2);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    const r = new PropertyReader(path, cap);
    for (let i = 0; i < 2; i++) {
      const found = r.read();
      status = lastStatus();
      const v = new ArrayBuffer(<i32>r.len);
      if (found) memory.copy(changetype<usize>(v), r.ptr, r.len);
      rest += (i > 0 ? " " : "") + (found ? "value_hex=" + hex(v) : "absent");
    }
  } else if (op == "set_property") {
    const path = serializePath(a.strs(1));
    const val = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_set_property(changetype<usize>(path), path.byteLength, changetype<usize>(val), val.byteLength);
  } else if (op == "set_shared_data") {
    const key = String.UTF8.encode(a.str(1));
    const val = String.UTF8.encode(a.str(2));
    const cas = a.length > 3 ? <u32>a.int(3) : 0;
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(val), val.byteLength, cas);
  } else if (op == "get_shared_data") {
    const key = String.UTF8.encode(a.str(1));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_get_shared_data(changetype<usize>(key), key.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
    const cas = load<u32>(RET_EXTRA);
    const v = bytesResult();
    if (status == WasmResult.Ok) rest = "cas=" + cas.toString() + " value=" + String.UTF8.decode(v);
  } else if (op == "register_queue") {
    const name = String.UTF8.encode(a.str(1));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_register_shared_queue(changetype<usize>(name), name.byteLength, RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "resolve_queue") {
    const vm = String.UTF8.encode(a.str(1));
    const name = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_resolve_shared_queue(changetype<usize>(vm), vm.byteLength, changetype<usize>(name), name.byteLength, RET_SIZE);
    if (status == WasmResult.Ok) rest = "value=" + load<u32>(RET_SIZE).toString();
  } else if (op == "enqueue") {
    const id = <u32>a.int(1);
    const val = String.UTF8.encode(a.str(2));
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_enqueue_shared_queue(id, changetype<usize>(val), val.byteLength);
  } else if (op == "dequeue") {
    const id = <u32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_dequeue_shared_queue(id, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) rest = "value=" + String.UTF8.decode(v);
  } else if (op == "define_metric") {
    const type = <i32>a.int(1);
    const nameStr = a.str(2);
    const name = String.UTF8.encode(nameStr);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    store<u32>(RET_SIZE, 0);
    status = abi.proxy_define_metric(type, changetype<usize>(name), name.byteLength, RET_SIZE);
    if (status == WasmResult.Ok) {
      const id = load<u32>(RET_SIZE);
      metricIds.set(nameStr, id);
      rest = "value=" + id.toString();
    }
  } else if (op == "increment_metric" || op == "record_metric" || op == "get_metric") {
    // A metric is named by the name given to define_metric, or by a raw id (a number).
    let id: u32 = 0;
    if (a.isStr(1)) {
      const name = a.str(1);
      if (!metricIds.has(name)) return probeError(cb, op + ": metric '" + name + "' was not defined by this probe");
      id = metricIds.get(name);
    } else {
      id = <u32>a.int(1);
    }
    if (op == "get_metric") {
      if (a.error != null) return probeError(cb, op + ": " + a.error!);
      store<u64>(RET_SIZE, 0);
      status = abi.proxy_get_metric(id, RET_SIZE);
      if (status == WasmResult.Ok) rest = "value=" + load<u64>(RET_SIZE).toString();
    } else {
      const v = a.int(2);
      if (a.error != null) return probeError(cb, op + ": " + a.error!);
      status = op == "increment_metric" ? abi.proxy_increment_metric(id, v) : abi.proxy_record_metric(id, <u64>v);
    }
  } else if (op == "set_tick") {
    const ms = <u32>a.int(1);
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    status = abi.proxy_set_tick_period_milliseconds(ms);
  } else if (op == "done") {
    status = abi.proxy_done();
  } else if (op == "call_foreign") {
    const name = String.UTF8.encode(a.str(1));
    const args = String.UTF8.encode(a.length > 2 ? a.str(2) : "");
    if (a.error != null) return probeError(cb, op + ": " + a.error!);
    clearSlots();
    status = abi.proxy_call_foreign_function(changetype<usize>(name), name.byteLength, changetype<usize>(args), args.byteLength, RET_PTR, RET_SIZE);
    const v = bytesResult();
    if (status == WasmResult.Ok) rest = "value=" + String.UTF8.decode(v);
  } else if (op == "trap") {
    info("probe " + cb + " trap");
    unreachable();
  } else if (op == "abort") {
    const msg = a.length > 1 ? a.str(1) : "probe abort";
    info("probe " + cb + " abort");
    // `throw` is AssemblyScript's abort path: abort() (wasi-shim: fd_write + proc_exit) then unreachable.
    throw new Error(msg);
  } else {
    return probeError(cb, "unknown op '" + op + "'");
  }
  report(cb, op, status, rest);
}

// --- configuration ---

function readBuffer(type: i32, size: u32): Uint8Array {
  if (size == 0) return new Uint8Array(0);
  clearSlots();
  const s = abi.proxy_get_buffer_bytes(type, 0, size, RET_PTR, RET_SIZE);
  const v = takeReturnedSlots();
  return s == WasmResult.Ok ? Uint8Array.wrap(v) : new Uint8Array(0);
}

function parseScripts(cb: string, bytes: Uint8Array): JSON.Obj | null {
  if (bytes.length == 0) return null;
  const p = parseObject(bytes, 32);
  if (p.error != null) {
    probeError(cb, "configuration: " + p.error!);
    return null;
  }
  return p.value;
}

// --- the callbacks ---

let currentCtx: u32 = 0;

function enter(cb: string, ctx: u32, args: string): void {
  currentCtx = ctx;
  info("probe " + cb + " enter ctx=" + ctx.toString() + (args.length ? " " + args : ""));
}

function eosArg(eos: u32): string {
  return eos != 0 ? "1" : "0";
}

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  enter("on_context_create", ctx, "parent=" + parent.toString());
  if (parent != 0) streamRoot.set(ctx, parent);
}

export function proxy_on_vm_start(ctx: u32, size: u32): i32 {
  enter("on_vm_start", ctx, "vm_config_size=" + size.toString());
  vmScripts = parseScripts("on_vm_start", readBuffer(6, size));
  return run("on_vm_start", ctx, 1);
}

export function proxy_on_configure(ctx: u32, size: u32): i32 {
  enter("on_configure", ctx, "config_size=" + size.toString());
  const s = parseScripts("on_configure", readBuffer(7, size));
  if (s != null) rootScripts.set(ctx, s);
  else if (rootScripts.has(ctx)) rootScripts.delete(ctx);
  return run("on_configure", ctx, 1);
}

export function proxy_on_tick(ctx: u32): void {
  enter("on_tick", ctx, "");
  run("on_tick", ctx, 0);
}

export function proxy_on_queue_ready(ctx: u32, queueId: u32): void {
  enter("on_queue_ready", ctx, "queue_id=" + queueId.toString());
  run("on_queue_ready", ctx, 0);
}

export function proxy_on_foreign_function(ctx: u32, functionId: u32, size: u32): void {
  enter("on_foreign_function", ctx, "function_id=" + functionId.toString() + " data_size=" + size.toString());
  run("on_foreign_function", ctx, 0);
}

export function proxy_on_http_call_response(ctx: u32, token: u32, headers: u32, body: u32, trailers: u32): void {
  const args = "token=" + token.toString() + " headers=" + headers.toString() + " body=" + body.toString() + " trailers=" + trailers.toString();
  enter("on_http_call_response", ctx, args);
  info("probe on_http_call_response args " + args);
  currentToken = token;
  inHttpCallResponse = true;
  run("on_http_call_response", ctx, 0);
  inHttpCallResponse = false;
  if (callOrigin.has(token)) callOrigin.delete(token);
}

// gRPC callbacks (root context): the scripts "on_grpc_receive_initial_metadata",
// "on_grpc_receive", "on_grpc_receive_trailing_metadata" and "on_grpc_close".
export function proxy_on_grpc_receive_initial_metadata(ctx: u32, token: u32, n: u32): void {
  enter("on_grpc_receive_initial_metadata", ctx, "token=" + token.toString() + " num_headers=" + n.toString());
  run("on_grpc_receive_initial_metadata", ctx, 0);
}

export function proxy_on_grpc_receive(ctx: u32, token: u32, size: u32): void {
  enter("on_grpc_receive", ctx, "token=" + token.toString() + " size=" + size.toString());
  run("on_grpc_receive", ctx, 0);
}

export function proxy_on_grpc_receive_trailing_metadata(ctx: u32, token: u32, n: u32): void {
  enter("on_grpc_receive_trailing_metadata", ctx, "token=" + token.toString() + " num_trailers=" + n.toString());
  run("on_grpc_receive_trailing_metadata", ctx, 0);
}

export function proxy_on_grpc_close(ctx: u32, token: u32, status: u32): void {
  enter("on_grpc_close", ctx, "token=" + token.toString() + " status=" + status.toString());
  run("on_grpc_close", ctx, 0);
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  enter("on_request_headers", ctx, "num_headers=" + n.toString() + " eos=" + eosArg(eos));
  return run("on_request_headers", ctx, 0, eos != 0);
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  enter("on_request_body", ctx, "body_size=" + size.toString() + " eos=" + eosArg(eos));
  return run("on_request_body", ctx, 0, eos != 0);
}

export function proxy_on_request_trailers(ctx: u32, n: u32): i32 {
  enter("on_request_trailers", ctx, "num_trailers=" + n.toString());
  return run("on_request_trailers", ctx, 0);
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  enter("on_response_headers", ctx, "num_headers=" + n.toString() + " eos=" + eosArg(eos));
  return run("on_response_headers", ctx, 0, eos != 0);
}

export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): i32 {
  enter("on_response_body", ctx, "body_size=" + size.toString() + " eos=" + eosArg(eos));
  return run("on_response_body", ctx, 0, eos != 0);
}

export function proxy_on_response_trailers(ctx: u32, n: u32): i32 {
  enter("on_response_trailers", ctx, "num_trailers=" + n.toString());
  return run("on_response_trailers", ctx, 0);
}

export function proxy_on_log(ctx: u32): void {
  enter("on_log", ctx, "");
  run("on_log", ctx, 0);
}

export function proxy_on_done(ctx: u32): i32 {
  enter("on_done", ctx, "");
  return run("on_done", ctx, 1);
}

export function proxy_on_delete(ctx: u32): void {
  enter("on_delete", ctx, "");
  run("on_delete", ctx, 0);
  if (streamRoot.has(ctx)) streamRoot.delete(ctx);
  else if (rootScripts.has(ctx)) rootScripts.delete(ctx);
}
