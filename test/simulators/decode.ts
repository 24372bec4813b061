// Reference decoders for the streamed replies of each provider (the simulators' and the
// recorded fixtures in test/fixtures/streams): bytes in, text/usage/tool calls out. They read
// incrementally, so tests can feed a stream cut at any byte offset.

export type StreamKind = "openai" | "anthropic" | "cohere" | "ollama";

export interface Frame {
  /** SSE `event:` name, when there is one. */
  event?: string;
  /** SSE `data:` payload, or one NDJSON line. */
  data: string;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Decoded {
  frames: Frame[];
  text: string;
  finish_reason: string | null;
  usage: Usage | null;
  tool_calls: ToolCall[];
  /** OpenAI format: whether `data: [DONE]` was seen. */
  done: boolean;
}

/** Splits SSE (blank-line separated events) or NDJSON (one JSON per line) as bytes arrive. */
export class FrameReader {
  private buf = "";
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  constructor(private readonly format: "sse" | "ndjson") {}

  push(bytes: Uint8Array): Frame[] {
    this.buf += this.decoder.decode(bytes, { stream: true });
    return this.drain(false);
  }

  end(): Frame[] {
    this.buf += this.decoder.decode();
    return this.drain(true);
  }

  private drain(final: boolean): Frame[] {
    const out: Frame[] = [];
    const sep = this.format === "sse" ? "\n\n" : "\n";
    let i: number;
    while ((i = this.buf.indexOf(sep)) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + sep.length);
      const f = this.parse(block);
      if (f) out.push(f);
    }
    if (final && this.buf.trim() !== "") {
      const f = this.parse(this.buf);
      this.buf = "";
      if (f) out.push(f);
    }
    return out;
  }

  private parse(block: string): Frame | null {
    if (this.format === "ndjson") return block.trim() === "" ? null : { data: block };
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (event === undefined && data.length === 0) return null;
    return event === undefined ? { data: data.join("\n") } : { event, data: data.join("\n") };
  }
}

export function formatOf(kind: StreamKind): "sse" | "ndjson" {
  return kind === "openai" || kind === "anthropic" ? "sse" : "ndjson";
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const usage = (p: number, c: number): Usage => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

/** Decodes complete frames into text, finish reason, usage and tool calls. */
export function decodeFrames(kind: StreamKind, frames: Frame[]): Decoded {
  const d: Decoded = { frames, text: "", finish_reason: null, usage: null, tool_calls: [], done: false };
  let inTokens = 0;
  for (const f of frames) {
    if (kind === "openai" && f.data === "[DONE]") {
      d.done = true;
      continue;
    }
    const o = obj(JSON.parse(f.data));
    if (kind === "openai") {
      for (const c of Array.isArray(o["choices"]) ? o["choices"] : []) {
        const delta = obj(obj(c)["delta"]);
        d.text += str(delta["content"]);
        for (const tc of Array.isArray(delta["tool_calls"]) ? delta["tool_calls"] : []) {
          const t = obj(tc);
          const idx = num(t["index"]);
          const call = (d.tool_calls[idx] ??= { id: "", name: "", arguments: "" });
          if (typeof t["id"] === "string") call.id = t["id"];
          const fn = obj(t["function"]);
          if (typeof fn["name"] === "string") call.name = fn["name"];
          call.arguments += str(fn["arguments"]);
        }
        const fr = obj(c)["finish_reason"];
        if (typeof fr === "string") d.finish_reason = fr;
      }
      const u = o["usage"];
      if (u !== null && typeof u === "object") d.usage = usage(num(obj(u)["prompt_tokens"]), num(obj(u)["completion_tokens"]));
    } else if (kind === "anthropic") {
      const type = str(o["type"]);
      if (type === "message_start") {
        const u = obj(obj(o["message"])["usage"]);
        inTokens = num(u["input_tokens"]);
        d.usage = usage(inTokens, num(u["output_tokens"]));
      } else if (type === "content_block_start") {
        const b = obj(o["content_block"]);
        if (b["type"] === "tool_use") d.tool_calls.push({ id: str(b["id"]), name: str(b["name"]), arguments: "" });
      } else if (type === "content_block_delta") {
        const delta = obj(o["delta"]);
        if (delta["type"] === "text_delta") d.text += str(delta["text"]);
        else if (delta["type"] === "input_json_delta" && d.tool_calls.length > 0) d.tool_calls[d.tool_calls.length - 1].arguments += str(delta["partial_json"]);
      } else if (type === "message_delta") {
        const sr = obj(o["delta"])["stop_reason"];
        if (typeof sr === "string") d.finish_reason = sr;
        // output_tokens here is the cumulative total: it replaces message_start's count.
        d.usage = usage(inTokens, num(obj(o["usage"])["output_tokens"]));
      }
    } else if (kind === "cohere") {
      const type = str(o["event_type"]);
      if (type === "text-generation") d.text += str(o["text"]);
      else if (type === "stream-end") {
        d.finish_reason = str(o["finish_reason"]);
        const billed = obj(obj(obj(o["response"])["meta"])["billed_units"]);
        d.usage = usage(num(billed["input_tokens"]), num(billed["output_tokens"]));
      }
    } else {
      d.text += str(obj(o["message"])["content"]) + str(o["response"]);
      for (const tc of Array.isArray(obj(o["message"])["tool_calls"]) ? (obj(o["message"])["tool_calls"] as unknown[]) : []) {
        const fn = obj(obj(tc)["function"]);
        d.tool_calls.push({ id: "", name: str(fn["name"]), arguments: JSON.stringify(fn["arguments"] ?? {}) });
      }
      if (o["done"] === true) {
        d.finish_reason = str(o["done_reason"]);
        d.usage = usage(num(o["prompt_eval_count"]), num(o["eval_count"]));
      }
    }
  }
  return d;
}

/** Decodes a whole stream given as chunks (cut anywhere, even inside a UTF-8 character). */
export function decodeStream(kind: StreamKind, chunks: readonly Uint8Array[]): Decoded {
  const r = new FrameReader(formatOf(kind));
  const frames: Frame[] = [];
  for (const c of chunks) frames.push(...r.push(c));
  frames.push(...r.end());
  return decodeFrames(kind, frames);
}
