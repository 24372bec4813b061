// A plain HTTP/1.1 client for tests: whole bodies or chunks sent one by one, trailers, and the
// response as status, headers and text. A reset connection resolves with status 0.
import http from "node:http";
import OpenAI from "openai";

export interface SendOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with chunked encoding, one write each, `gapMs` apart. */
  chunks?: (string | Buffer)[];
  gapMs?: number;
  trailers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

export function send(base: string, o: SendOptions = {}): Promise<Reply> {
  const url = new URL(o.path ?? "/", base);
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.trailers) headers.trailer = Object.keys(o.trailers).join(", ");
    const req = http.request(url, { method: o.method ?? (o.body !== undefined || o.chunks ? "POST" : "GET"), headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString(), trailers: res.trailers }));
      res.on("error", () => resolve({ status: 0, headers: res.headers, body: Buffer.concat(parts).toString(), trailers: {} }));
    });
    req.on("error", () => resolve({ status: 0, headers: {}, body: "", trailers: {} }));
    void (async () => {
      if (o.chunks) {
        for (const c of o.chunks) {
          req.write(c);
          if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
        }
        if (o.trailers) req.addTrailers(o.trailers);
        req.end();
      } else {
        if (o.trailers) {
          req.write(o.body ?? "");
          req.addTrailers(o.trailers);
          req.end();
        } else req.end(o.body);
      }
    })();
  });
}

/** The official openai SDK pointed at `${base}/v1`, without retries (a test sees every failure). */
export function openaiClient(base: string, apiKey = "client-key"): OpenAI {
  return new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
}
