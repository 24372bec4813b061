// Every host function of proxy-wasm ABI 0.2.1 (module "env"), with the exact signatures
// Envoy links against (proxy-wasm-cpp-host include/proxy-wasm/exports.h). Pointers and
// sizes are i32 (wasm32 usize); only increment/record_metric take an i64.
// The 0.1.0-only functions (proxy_clear_route_cache, proxy_get_configuration,
// proxy_continue_request/response) are deliberately absent: a 0.2.1 module importing
// them fails to link in Envoy.

// --- logging, time, status ---

// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: i32, messagePtr: usize, messageSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(retLevel: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(retTime: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_status")
export declare function proxy_get_status(retCode: usize, retMessagePtr: usize, retMessageSize: usize): i32;

// --- properties ---

// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, retValuePtr: usize, retValueSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): i32;

// --- stream control ---

// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(streamType: i32): i32;

// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(streamType: i32): i32;

// @ts-ignore: decorator
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32,
  detailsPtr: usize, detailsSize: usize,
  bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize,
  grpcStatus: i32,
): i32;

// --- header maps ---

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, retValuePtr: usize, retValueSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: i32, keyPtr: usize, keySize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: i32, retPairsPtr: usize, retPairsSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(mapType: i32, pairsPtr: usize, pairsSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(mapType: i32, retSize: usize): i32;

// --- buffers ---

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(bufferType: i32, retSize: usize, retFlags: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(bufferType: i32, start: u32, maxSize: u32, retPtr: usize, retSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(bufferType: i32, start: u32, size: u32, dataPtr: usize, dataSize: usize): i32;

// --- HTTP and gRPC callouts ---

// @ts-ignore: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstreamPtr: usize, upstreamSize: usize,
  headersPtr: usize, headersSize: usize,
  bodyPtr: usize, bodySize: usize,
  trailersPtr: usize, trailersSize: usize,
  timeoutMs: u32,
  retToken: usize,
): i32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  upstreamPtr: usize, upstreamSize: usize,
  servicePtr: usize, serviceSize: usize,
  methodPtr: usize, methodSize: usize,
  metadataPtr: usize, metadataSize: usize,
  messagePtr: usize, messageSize: usize,
  timeoutMs: u32,
  retToken: usize,
): i32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  upstreamPtr: usize, upstreamSize: usize,
  servicePtr: usize, serviceSize: usize,
  methodPtr: usize, methodSize: usize,
  metadataPtr: usize, metadataSize: usize,
  retToken: usize,
): i32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(token: u32, messagePtr: usize, messageSize: usize, endStream: u32): i32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(token: u32): i32;

// @ts-ignore: decorator
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(token: u32): i32;

// --- shared data and queues ---

// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(keyPtr: usize, keySize: usize, retValuePtr: usize, retValueSize: usize, retCas: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize, cas: u32): i32;

// @ts-ignore: decorator
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(namePtr: usize, nameSize: usize, retQueueId: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(vmIdPtr: usize, vmIdSize: usize, namePtr: usize, nameSize: usize, retQueueId: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(queueId: u32, valuePtr: usize, valueSize: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(queueId: u32, retValuePtr: usize, retValueSize: usize): i32;

// --- metrics ---

// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: i32, namePtr: usize, nameSize: usize, retMetricId: usize): i32;

// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, offset: i64): i32;

// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): i32;

// @ts-ignore: decorator
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, retValue: usize): i32;

// --- contexts and foreign functions ---

// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): i32;

// @ts-ignore: decorator
@external("env", "proxy_done")
export declare function proxy_done(): i32;

// @ts-ignore: decorator
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(namePtr: usize, nameSize: usize, argsPtr: usize, argsSize: usize, retResultsPtr: usize, retResultsSize: usize): i32;
