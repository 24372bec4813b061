// Misbehaviour a real provider (or a proxy in front of it) shows, queued with
// sim.misbehaveNext(m): the next request gets its normal handling, then the reply is bent.
// Echo modes put the credential the simulator received into the reply the way providers
// and proxies do (OpenAI's "Incorrect API key provided: sk-…"), so a gateway test can check
// the key never reaches the client. Broken modes end a stream early or answer with what no
// client can use (204, a redirect, an empty 200, a stream for stream:false).
import http from "node:http";
import type { Reply, SimRequest } from "./server.ts";

export type EchoWay =
  | "message" // JSON error, key in error.message
  | "type" // JSON error, key as error.type
  | "code" // JSON error, key as error.code
  | "detail" // FastAPI-style {"detail": "... key ..."}
  | "text" // text/plain error body
  | "html" // an HTML error page, as a proxy in front of the provider sends
  | "sse-error" // the normal stream with an error event holding the key before its end
  | "split" // as sse-error, the event written in two writes cut inside the key
  | "header" // the normal reply with `x-echo-auth: <key>`
  | "model"; // the normal reply with the model name replaced by the key

export type Misbehavior =
  | { echo: EchoWay }
  /**
   * The normal stream without its last event (the end marker: [DONE], message_stop, stream-end,
   * done:true, the finishReason chunk), ended cleanly or, with `reset`, by dropping the connection.
   */
  | { truncate: true; reset?: boolean }
  /** A fixed status and body instead of the answer (204, 302 with a Location, an empty 200, ...). */
  | { status: number; headers?: Record<string, string>; body?: string; chunked?: boolean }
  /** The normal reply as an event stream, whatever the request asked for. */
  | { streamAlways: true }
  /** The normal reply's text (JSON body or each stream event) rewritten. */
  | { rewrite: (text: string) => string };

/** Every credential-bearing place a gateway may have put the key in. */
export function receivedCredential(req: SimRequest): string | undefined {
  const auth = /^(?:Bearer|Basic)\s+(.+)$/i.exec(req.headers["authorization"] ?? "");
  const body = typeof req.body === "object" && req.body !== null && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  return (
    auth?.[1]?.trim() ??
    req.headers["x-api-key"] ??
    req.headers["api-key"] ??
    req.headers["x-goog-api-key"] ??
    req.query.get("key") ??
    req.query.get("api-key") ??
    (typeof body["api_key"] === "string" ? (body["api_key"] as string) : undefined) ??
    (typeof body["key"] === "string" ? (body["key"] as string) : undefined)
  );
}

/** An OpenAI-format SSE error event; providers with another stream format pass their own. */
export function openAIStreamError(message: string): string {
  return `data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: null } })}\n\n`;
}

function mapText(r: Reply, f: (s: string) => string): Reply {
  if (r.kind === "stream") return { ...r, events: r.events.map(f) };
  if (r.kind === "raw") return { ...r, body: f(r.body) };
  return { kind: "raw", status: r.status, headers: { "content-type": "application/json", ...(r.headers ?? {}) }, body: f(JSON.stringify(r.body)) };
}

function modelOf(req: SimRequest): string | undefined {
  const b = req.body as Record<string, unknown> | null;
  if (b && typeof b === "object" && typeof b["model"] === "string") return b["model"] as string;
  const m = /\/models\/([^/:]+)/.exec(req.path);
  return m?.[1];
}

/** Applies `m` to the normal reply. `streamError` writes an error event in the provider's stream format. */
export function misbehave(m: Misbehavior, req: SimRequest, normal: Reply, streamError: (message: string) => string): Reply {
  if ("truncate" in m) {
    if (normal.kind !== "stream") throw new Error(`truncate needs a streamed reply, got ${normal.kind} ${normal.status}`);
    return { ...normal, events: normal.events.slice(0, -1), reset: m.reset };
  }
  if ("status" in m) {
    const headers = { "content-type": "application/json", ...(m.headers ?? {}) };
    if (m.chunked) return { kind: "stream", status: m.status, headers, events: m.body ? [m.body] : [] };
    return { kind: "raw", status: m.status, headers, body: m.body ?? "" };
  }
  if ("streamAlways" in m) {
    if (normal.kind === "stream") return normal; // it streams already (Gemini's streamGenerateContent)
    const text = normal.kind === "json" ? JSON.stringify(normal.body) : normal.body;
    return { kind: "stream", status: normal.status, headers: { "content-type": "text/event-stream" }, events: [`data: ${text}\n\n`, "data: [DONE]\n\n"] };
  }
  if ("rewrite" in m) return mapText(normal, m.rewrite);
  const key = receivedCredential(req);
  if (key === undefined) throw new Error("misbehave echo: the simulator received no credential");
  const said = `Incorrect API key provided: ${key}. You can find your API key at https://example.invalid/keys.`;
  switch (m.echo) {
    case "message":
      return { kind: "json", status: 401, body: { error: { message: said, type: "invalid_request_error", param: null, code: "invalid_api_key" } } };
    case "type":
      return { kind: "json", status: 401, body: { error: { message: "Invalid key.", type: key, code: null } } };
    case "code":
      return { kind: "json", status: 401, body: { error: { message: "Invalid key.", type: "invalid_request_error", code: key } } };
    case "detail":
      return { kind: "json", status: 422, body: { detail: said } };
    case "text":
      return { kind: "raw", status: 401, headers: { "content-type": "text/plain" }, body: said };
    case "html":
      return {
        kind: "raw",
        status: 502,
        headers: { "content-type": "text/html" },
        body: `<html><head><title>502 ${http.STATUS_CODES[502]}</title></head><body><h1>Bad gateway</h1><p>upstream refused credential ${key}</p></body></html>\n`,
      };
    case "header":
      return { ...normal, headers: { ...(normal.headers ?? {}), "x-echo-auth": key, "www-authenticate": `Bearer realm="api", error="invalid_token", key="${key}"` } };
    case "model": {
      const model = modelOf(req);
      if (model === undefined) throw new Error("misbehave model echo: the request names no model");
      return mapText(normal, (s) => s.split(model).join(key));
    }
    case "sse-error":
    case "split": {
      if (normal.kind !== "stream") throw new Error(`${m.echo} needs a streamed reply, got ${normal.kind} ${normal.status}`);
      const ev = streamError(said);
      const at = ev.indexOf(key) + Math.floor(key.length / 2);
      const parts = m.echo === "split" ? [ev.slice(0, at), ev.slice(at)] : [ev];
      // Before the end marker: a translator must not take the events after it for a success.
      return { ...normal, events: [...normal.events.slice(0, 2), ...parts] };
    }
  }
}
