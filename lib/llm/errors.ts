// The OpenAI error shape `{"error":{"message","type","code"}}` used for every error the
// gateway sends, and a reader that turns the common upstream error bodies into it.

import { JsonWriter } from "./json-writer";
import { parseObject, getObj, getString, getArr, arrAt, valueObj, valueString, isNumberType, typeOf } from "../json";
import { JSON } from "json-as";

/** OpenAI's error `type` for an HTTP status. */
export function errorTypeForStatus(status: u32): string {
  if (status == 401) return "authentication_error";
  if (status == 403) return "permission_error";
  if (status == 404) return "not_found_error";
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** `{"error":{"message":..,"type":..,"code":..}}`; `code` null writes JSON null. */
export function errorBody(message: string, type: string, code: string | null): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().key("error").beginObject();
  w.fieldString("message", message).fieldString("type", type).fieldStringOrNull("code", code);
  w.endObject().endObject();
  return w.toBytes();
}

const MAX_MESSAGE_CHARS = 1000;

function clip(s: string): string {
  return s.length > MAX_MESSAGE_CHARS ? s.substring(0, MAX_MESSAGE_CHARS) : s;
}

/** A string or number field as a string, else null. */
function scalarString(obj: JSON.Obj, key: string): string | null {
  const s = getString(obj, key);
  if (s != null) return s;
  const t = typeOf(obj, key);
  if (t >= 0 && isNumberType(<u16>t)) {
    const v = obj.get(key);
    if (v != null) return v.toString();
  }
  return null;
}

/** FastAPI's `loc` (["body", "x", 0]) as "body.x.0". */
function locPath(loc: JSON.Arr): string {
  let s = "";
  for (let i = 0; i < loc.length; i++) {
    const v = arrAt(loc, i);
    if (v == null) continue;
    const t = valueString(v);
    const part = t != null ? t : v.toString();
    s += i > 0 ? "." + part : part;
  }
  return s;
}

/** True when every byte is printable ASCII or whitespace (good enough to quote a plain-text error). */
function isPlainText(body: Uint8Array): bool {
  for (let i = 0; i < body.length; i++) {
    const c = unchecked(body[i]);
    if (c < 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return false;
  }
  return true;
}

/**
 * Any upstream error body → the OpenAI error shape. Understands `{"error":{"message","type","code"}}`
 * (OpenAI, Azure, Anthropic), `{"error":"..."}` (Ollama), `{"message":...}` (Cohere, Mistral),
 * `{"detail":...}` (FastAPI-style 422s) and plain text (Envoy's own 503/504 bodies).
 */
export function genericError(status: u32, body: Uint8Array): Uint8Array {
  let message: string | null = null;
  let type: string | null = null;
  let code: string | null = null;
  const p = parseObject(body);
  if (p.value != null) {
    const o = p.value!;
    const eo = getObj(o, "error");
    if (eo != null) {
      message = getString(eo, "message");
      type = getString(eo, "type");
      code = scalarString(eo, "code");
    } else {
      message = getString(o, "error");
    }
    if (message == null) message = getString(o, "message");
    if (type == null) type = getString(o, "type");
    if (code == null) code = scalarString(o, "code");
    if (message == null) {
      message = getString(o, "detail");
      const da = getArr(o, "detail");
      if (message == null && da != null) {
        const first = valueObj(arrAt(da, 0));
        if (first != null) {
          message = getString(first, "msg");
          const loc = getArr(first, "loc");
          if (message != null && loc != null && loc.length > 0) message = locPath(loc) + ": " + message!;
        }
      }
    }
    if (message == null) message = clip(String.UTF8.decodeUnsafe(body.dataStart, <usize>body.byteLength));
  } else if (body.length > 0 && isPlainText(body)) {
    message = clip(String.UTF8.decodeUnsafe(body.dataStart, <usize>body.byteLength).trim());
  }
  if (message == null || message.length == 0) message = "upstream returned status " + status.toString();
  if (type == null || type.length == 0) type = errorTypeForStatus(status);
  return errorBody(clip(message), type, code);
}
