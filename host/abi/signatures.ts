// What Envoy links a module against (proxy-wasm-cpp-host include/proxy-wasm/exports.h,
// src/wasm.cc registerCallbacks) and the signatures it expects of the module's exports
// (FOR_ALL_MODULE_FUNCTIONS). Compact form: params ":" results, one letter each (i=i32, I=i64).

import type { FuncType, ValType } from "./wasm-binary.ts";

const PROXY_0_2_1: Record<string, string> = {
  proxy_log: "iii:i",
  proxy_get_status: "iii:i",
  proxy_set_property: "iiii:i",
  proxy_get_property: "iiii:i",
  proxy_send_local_response: "iiiiiiii:i",
  proxy_get_shared_data: "iiiii:i",
  proxy_set_shared_data: "iiiii:i",
  proxy_register_shared_queue: "iii:i",
  proxy_resolve_shared_queue: "iiiii:i",
  proxy_dequeue_shared_queue: "iii:i",
  proxy_enqueue_shared_queue: "iii:i",
  proxy_get_header_map_value: "iiiii:i",
  proxy_add_header_map_value: "iiiii:i",
  proxy_replace_header_map_value: "iiiii:i",
  proxy_remove_header_map_value: "iii:i",
  proxy_get_header_map_pairs: "iii:i",
  proxy_set_header_map_pairs: "iii:i",
  proxy_get_header_map_size: "ii:i",
  proxy_get_buffer_status: "iii:i",
  proxy_get_buffer_bytes: "iiiii:i",
  proxy_set_buffer_bytes: "iiiii:i",
  proxy_http_call: "iiiiiiiiii:i",
  proxy_grpc_call: "iiiiiiiiiiii:i",
  proxy_grpc_stream: "iiiiiiiii:i",
  proxy_grpc_close: "i:i",
  proxy_grpc_cancel: "i:i",
  proxy_grpc_send: "iiii:i",
  proxy_set_tick_period_milliseconds: "i:i",
  proxy_get_current_time_nanoseconds: "i:i",
  proxy_define_metric: "iiii:i",
  proxy_increment_metric: "iI:i",
  proxy_record_metric: "iI:i",
  proxy_get_metric: "ii:i",
  proxy_set_effective_context: "i:i",
  proxy_done: ":i",
  proxy_call_foreign_function: "iiiiii:i",
  // 0.2.1-specific (registered only for modules with the 0.2.1 marker)
  proxy_continue_stream: "i:i",
  proxy_close_stream: "i:i",
  proxy_get_log_level: "i:i",
};

const ENV_EXTRA: Record<string, string> = {
  pthread_equal: "ii:i",
  emscripten_notify_memory_growth: "i:",
};

const WASI: Record<string, string> = {
  fd_write: "iiii:i",
  fd_read: "iiii:i",
  fd_seek: "iIii:i",
  fd_close: "i:i",
  fd_fdstat_get: "ii:i",
  environ_get: "ii:i",
  environ_sizes_get: "ii:i",
  args_get: "ii:i",
  args_sizes_get: "ii:i",
  clock_time_get: "iIi:i",
  random_get: "ii:i",
  proc_exit: "i:",
  path_open: "iiiiiIIii:i",
  fd_prestat_get: "ii:i",
  fd_prestat_dir_name: "iii:i",
};

/** Functions callable while `_initialize`/`main`/`_start` runs (src/wasm.cc startVm). Others trap with "restricted_callback". */
export const START_ALLOWED = new Set<string>([
  "env.proxy_log",
  ...["fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get", "fd_prestat_get", "fd_prestat_dir_name", "clock_time_get", "random_get"].flatMap(
    (f) => [`wasi_unstable.${f}`, `wasi_snapshot_preview1.${f}`],
  ),
]);

/** Exports Envoy calls, with the signature it requires ("Bad function signature for: X" otherwise). */
export const MODULE_FUNCTIONS: Record<string, string> = {
  _initialize: ":",
  _start: ":",
  main: "ii:i",
  malloc: "i:i",
  proxy_on_memory_allocate: "i:i",
  proxy_on_context_create: "ii:",
  proxy_on_vm_start: "ii:i",
  proxy_validate_configuration: "ii:i",
  proxy_on_configure: "ii:i",
  proxy_on_tick: "i:",
  proxy_on_new_connection: "i:i",
  proxy_on_downstream_data: "iii:i",
  proxy_on_upstream_data: "iii:i",
  proxy_on_downstream_connection_close: "ii:",
  proxy_on_upstream_connection_close: "ii:",
  proxy_on_request_headers: "iii:i",
  proxy_on_request_body: "iii:i",
  proxy_on_request_trailers: "ii:i",
  proxy_on_request_metadata: "ii:i",
  proxy_on_response_headers: "iii:i",
  proxy_on_response_body: "iii:i",
  proxy_on_response_trailers: "ii:i",
  proxy_on_response_metadata: "ii:i",
  proxy_on_http_call_response: "iiiii:",
  proxy_on_grpc_receive_initial_metadata: "iii:",
  proxy_on_grpc_receive_trailing_metadata: "iii:",
  proxy_on_grpc_receive: "iii:",
  proxy_on_grpc_close: "iii:",
  proxy_on_queue_ready: "ii:",
  proxy_on_foreign_function: "iii:",
  proxy_on_done: "i:i",
  proxy_on_log: "i:",
  proxy_on_delete: "i:",
};

export const ABI_MARKERS = ["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"] as const;

function decode(sig: string): FuncType {
  const [p = "", r = ""] = sig.split(":");
  const t = (c: string): ValType => (c === "I" ? "i64" : "i32");
  return { params: [...p].map(t), results: [...r].map(t) };
}

/** The full import table a 0.2.1 module links against: "module.name" → signature. */
export const HOST_IMPORTS: ReadonlyMap<string, FuncType> = new Map([
  ...Object.entries(PROXY_0_2_1).map(([n, s]) => [`env.${n}`, decode(s)] as const),
  ...Object.entries(ENV_EXTRA).map(([n, s]) => [`env.${n}`, decode(s)] as const),
  ...Object.entries(WASI).flatMap(([n, s]) => [
    [`wasi_unstable.${n}`, decode(s)] as const,
    [`wasi_snapshot_preview1.${n}`, decode(s)] as const,
  ]),
]);

export const MODULE_FUNCTION_TYPES: ReadonlyMap<string, FuncType> = new Map(
  Object.entries(MODULE_FUNCTIONS).map(([n, s]) => [n, decode(s)] as const),
);

export function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}
