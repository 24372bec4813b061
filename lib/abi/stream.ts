// Stream control: continue or close a paused stream, send a local reply.
// All three are deferred by Envoy until the current callback returns; a local reply also
// forces the callback's result to Stop, and runs this filter's own response callbacks.

import { proxy_close_stream, proxy_continue_stream, proxy_send_local_response } from "./imports";
import { HeaderPair, serializePairs } from "./pairs";

/** Resumes a paused request or response (StreamType). Returns the host status. */
export function continueStream(streamType: i32): i32 {
  return proxy_continue_stream(streamType);
}

/** Resets the stream (StreamType). Returns the host status. */
export function closeStream(streamType: i32): i32 {
  return proxy_close_stream(streamType);
}

/**
 * Replies to the client instead of the upstream. `details` shows up as the response code
 * details (whitespace becomes '_'); grpcStatus outside 0..16 (GRPC_STATUS_NONE) sets none.
 * Returns the host status.
 */
export function sendLocalResponse(status: u32, details: string, body: ArrayBuffer | null, headers: HeaderPair[], grpcStatus: i32): i32 {
  const d = String.UTF8.encode(details);
  const b = body != null ? body : new ArrayBuffer(0);
  const h = serializePairs(headers);
  return proxy_send_local_response(
    status,
    changetype<usize>(d), d.byteLength,
    changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength,
    grpcStatus,
  );
}
