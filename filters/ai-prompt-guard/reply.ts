// Error replies in the OpenAI shape: {"error":{"message":"…","type":"invalid_request_error","code":…}}.

import { HeaderPair, HttpContext } from "../../lib/runtime";

/** `s` as a JSON string literal (our messages are ASCII, but escape everything that needs it). */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

export function errorBody(message: string, code: string | null): string {
  return '{"error":{"message":' + quote(message) + ',"type":"invalid_request_error","code":' + (code != null ? quote(code) : "null") + "}}";
}

/** Sends the error as a local reply; the caller returns Pause. `details` has no spaces (Envoy's response code details). */
export function replyError(ctx: HttpContext, status: u32, details: string, message: string, code: string | null): void {
  ctx.sendLocalResponse(status, details, String.UTF8.encode(errorBody(message, code)), [new HeaderPair("content-type", "application/json")]);
}
