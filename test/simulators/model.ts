// The simulators' "model": deterministic answers and token counts derived from the input,
// so tests can assert exact text and usage. Provider files only change the wire format.
import { createHash } from "node:crypto";

/** Fixed `created` timestamp (2025-01-01T00:00:00Z) so answers are byte-stable. */
export const CREATED = 1735689600;
export const CREATED_ISO = new Date(CREATED * 1000).toISOString();

/** Embedding width of every simulator. */
export const EMBED_DIMS = 8;

/** The model name that every simulator reports as unknown (404 or the provider's equivalent). */
export const MISSING_MODEL = "missing-model";

/** Token count rule: whitespace-separated words. */
export function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}

/** Sum of countWords over several texts. */
export function countAll(texts: readonly string[]): number {
  return texts.reduce((n, t) => n + countWords(t), 0);
}

/**
 * Stream pieces: one per word, each with the whitespace before it (" world"), plus any
 * trailing whitespace as a last piece. Joining the pieces gives the text back exactly.
 */
export function pieces(text: string): string[] {
  const out: string[] = text.match(/\s*\S+/g) ?? [];
  const tail = /\s+$/.exec(text);
  if (tail) out.push(tail[0]);
  return out;
}

export interface TextAnswer {
  text: string;
  /** True when max tokens cut the answer short. */
  truncated: boolean;
  completionTokens: number;
}

/**
 * The transformer mode: a system prompt with a line `sim-reply: TEMPLATE` makes the model answer
 * TEMPLATE (to the end of that line) with `{input}` replaced by the user text, `{input_json}` by
 * the user text as a JSON string literal and `{input_upper}` by the text upper-cased, so a test
 * scripts exactly what an LLM "following the prompt" answers (JSON bodies, instructions, or
 * something that is not what was asked for). Null when the prompt has no such line.
 */
export function scriptedReply(system: string, input: string): string | null {
  const m = /(?:^|\n)sim-reply: ?([^\n]*)/.exec(system);
  if (!m) return null;
  return m[1]!.replace(/\{input(_json|_upper)?\}/g, (_all, kind: string | undefined) =>
    kind === "_json" ? JSON.stringify(input) : kind === "_upper" ? input.toUpperCase() : input,
  );
}

/**
 * The reply rule: `echo: <input>`, cut to `maxTokens` words when given; in the transformer
 * mode (`system` holds a `sim-reply:` line) the scripted reply instead.
 */
export function echo(input: string, maxTokens?: number, system = ""): TextAnswer {
  const full = scriptedReply(system, input) ?? `echo: ${input}`;
  const words = pieces(full).filter((p) => /\S/.test(p));
  if (maxTokens !== undefined && words.length > maxTokens) {
    const text = words.slice(0, maxTokens).join("");
    return { text, truncated: true, completionTokens: countWords(text) };
  }
  return { text: full, truncated: false, completionTokens: countWords(full) };
}

/** Arguments the model passes to a tool it calls: the user's text as `query`. */
export function toolInput(userText: string): { query: string } {
  return { query: userText };
}

/** Short stable hex id derived from what was sent. */
export function idFrom(seed: string, length = 24): string {
  return createHash("sha256").update(seed, "utf8").digest("hex").slice(0, length);
}

/**
 * Embedding of a text: EMBED_DIMS values from its SHA-256, each (byte - 128) / 128, so every
 * value is exact in float32 and the float and base64 encodings agree bit for bit.
 */
export function embedding(text: string): number[] {
  const h = createHash("sha256").update(text, "utf8").digest();
  return Array.from(h.subarray(0, EMBED_DIMS), (b) => (b - 128) / 128);
}

/** OpenAI's base64 embedding encoding: little-endian float32. */
export function embeddingBase64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString("base64");
}

/** Text of an OpenAI/Anthropic/Ollama message content: a string, or the text parts of an array joined by " ". */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === "string") texts.push(part);
    else if (isRecord(part)) {
      if (typeof part["text"] === "string") texts.push(part["text"]);
      else if (part["type"] === "tool_result") texts.push(contentText(part["content"]));
    }
  }
  return texts.join(" ");
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A positive integer, or undefined when absent; null when present but invalid. */
export function positiveInt(v: unknown): number | undefined | null {
  if (v === undefined || v === null) return undefined;
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : null;
}
