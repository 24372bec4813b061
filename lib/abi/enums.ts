// The ABI's integer constants (proxy-wasm-cpp-sdk proxy_wasm_common.h / proxy_wasm_enums.h).
// Plain i32 constants in namespaces: they cross the ABI as i32 and need no conversion.

export namespace WasmResult {
  export const Ok: i32 = 0;
  export const NotFound: i32 = 1;
  export const BadArgument: i32 = 2;
  export const SerializationFailure: i32 = 3;
  export const ParseFailure: i32 = 4;
  export const BadExpression: i32 = 5;
  export const InvalidMemoryAccess: i32 = 6;
  export const Empty: i32 = 7;
  export const CasMismatch: i32 = 8;
  export const ResultMismatch: i32 = 9;
  export const InternalFailure: i32 = 10;
  export const BrokenConnection: i32 = 11;
  export const Unimplemented: i32 = 12;
}

/** What a stream callback returns. Envoy maps Pause from a headers callback to StopAllIterationAndWatermark. */
export namespace Action {
  export const Continue: i32 = 0;
  export const Pause: i32 = 1;
}

export namespace LogLevel {
  export const Trace: i32 = 0;
  export const Debug: i32 = 1;
  export const Info: i32 = 2;
  export const Warn: i32 = 3;
  export const Error: i32 = 4;
  export const Critical: i32 = 5;
}

export namespace BufferType {
  export const HttpRequestBody: i32 = 0;
  export const HttpResponseBody: i32 = 1;
  export const DownstreamData: i32 = 2;
  export const UpstreamData: i32 = 3;
  export const HttpCallResponseBody: i32 = 4;
  export const GrpcReceiveBuffer: i32 = 5;
  export const VmConfiguration: i32 = 6;
  export const PluginConfiguration: i32 = 7;
  export const CallData: i32 = 8;
}

export namespace MapType {
  export const HttpRequestHeaders: i32 = 0;
  export const HttpRequestTrailers: i32 = 1;
  export const HttpResponseHeaders: i32 = 2;
  export const HttpResponseTrailers: i32 = 3;
  export const GrpcReceiveInitialMetadata: i32 = 4;
  export const GrpcReceiveTrailingMetadata: i32 = 5;
  export const HttpCallResponseHeaders: i32 = 6;
  export const HttpCallResponseTrailers: i32 = 7;
}

export namespace StreamType {
  export const HttpRequest: i32 = 0;
  export const HttpResponse: i32 = 1;
  export const Downstream: i32 = 2;
  export const Upstream: i32 = 3;
}

export namespace MetricType {
  export const Counter: i32 = 0;
  export const Gauge: i32 = 1;
  export const Histogram: i32 = 2;
}

export namespace PeerType {
  export const Unknown: i32 = 0;
  export const Local: i32 = 1;
  export const Remote: i32 = 2;
}

/** gRPC status "none" for proxy_send_local_response (any value outside 0..16). */
export const GRPC_STATUS_NONE: i32 = -1;
