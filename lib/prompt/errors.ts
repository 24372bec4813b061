// Client errors in the OpenAI shape, {"error":{"message":"…","type":"invalid_request_error"}},
// sent as a local reply with a JSON content type.

import { HttpContext } from "../runtime/context";
import { HeaderPair } from "../abi/pairs";
import { ByteWriter } from "./writer";

/** The OpenAI error body for `message`. */
export function openAiError(message: string, type: string = "invalid_request_error"): Uint8Array {
  const w = new ByteWriter(message.length + 64);
  w.ascii('{"error":{"message":').string(message).ascii(',"type":').string(type).ascii("}}");
  return w.finish();
}

/**
 * Replies `status` with the OpenAI error for `message`. `details` becomes Envoy's response
 * code details (no whitespace). The caller returns Pause afterwards.
 */
export function replyError(ctx: HttpContext, status: u32, details: string, message: string, type: string = "invalid_request_error"): void {
  const body = openAiError(message, type);
  ctx.sendLocalResponse(status, details, body.buffer, [new HeaderPair("content-type", "application/json")]);
}
