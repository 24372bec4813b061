// Client errors in the gateway's OpenAI shape ({"error":{"message","type","code"}}, written by
// lib/llm/errors so every filter answers alike), sent as a JSON local reply.

import { HttpContext } from "../runtime/context";
import { HeaderPair } from "../abi/pairs";
import { errorBody } from "../llm/errors";

/**
 * Replies `status` with the OpenAI error for `message` (code null). `details` becomes Envoy's
 * response code details (no whitespace). The caller returns Pause afterwards.
 */
export function replyError(ctx: HttpContext, status: u32, details: string, message: string, type: string = "invalid_request_error"): void {
  const body = errorBody(message, type, null);
  ctx.sendLocalResponse(status, details, body.buffer, [new HeaderPair("content-type", "application/json")]);
}
