// A recorded provider stream, cut in two at every byte offset (two writes, so the gateway gets
// two body callbacks), gives the client the same OpenAI stream: same text, finish reason and
// usage. Events split anywhere must be reassembled, never dropped or duplicated.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAiGateway } from "./support/ai-gateway.ts";
import type { RunningGateway } from "./support/gateway.ts";

const FIXTURES = join(import.meta.dirname, "fixtures/streams");

interface Expected {
  content_type: string;
  text: string;
  finish_reason: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const CASES: { fixture: string; hosts: string[]; config: (port: number) => Record<string, unknown> }[] = [
  { fixture: "openai-chat-usage", hosts: ["api.openai.com"], config: () => ({ model: { provider: "openai", name: "gpt-4o-mini" } }) },
  { fixture: "mistral-chat", hosts: ["api.mistral.ai"], config: () => ({ model: { provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai" } } }) },
  { fixture: "anthropic-chat", hosts: ["api.anthropic.com"], config: () => ({ model: { provider: "anthropic", name: "claude-3-5-sonnet-20241022", options: { anthropic_version: "2023-06-01", max_tokens: 256 } } }) },
  { fixture: "cohere-chat", hosts: ["api.cohere.com"], config: () => ({ model: { provider: "cohere", name: "command-r" } }) },
  { fixture: "ollama-chat", hosts: [], config: (port) => ({ model: { provider: "llama2", name: "llama3.2", options: { llama2_format: "ollama", upstream_url: `http://127.0.0.1:${port}/api/chat` } } }) },
];

/** An upstream that answers every request with the fixture, cut where x-split says. */
async function replayServer(body: Buffer, contentType: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const at = Number(req.headers["x-split"] ?? body.length);
      res.writeHead(200, { "content-type": contentType });
      res.write(body.subarray(0, at));
      setTimeout(() => res.end(body.subarray(at)), 2);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Reads the client-visible OpenAI stream. */
function decode(sse: string): { text: string; finish: string | null; usage: unknown; done: boolean } {
  let text = "";
  let finish: string | null = null;
  let usage: unknown = null;
  let done = false;
  for (const block of sse.split("\n\n")) {
    const line = block.split("\n").find((l) => l.startsWith("data:"));
    if (!line) continue;
    const data = line.slice(5).trim();
    if (data === "[DONE]") {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string }; finish_reason?: string | null }[]; usage?: unknown };
    for (const c of chunk.choices ?? []) {
      text += c.delta?.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, finish, usage, done };
}

describe.each(CASES)("$fixture split at every byte", ({ fixture, hosts, config }) => {
  const body = readFileSync(join(FIXTURES, `${fixture}.txt`));
  const expected = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), "utf8")) as Expected;
  let upstream: Awaited<ReturnType<typeof replayServer>>;
  let gw: RunningGateway;

  beforeAll(async () => {
    upstream = await replayServer(body, expected.content_type);
    gw = await startAiGateway({ simulatorPort: upstream.port, providerHosts: hosts, kinds: ["chat"], config: config(upstream.port) });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it("gives the same text, finish reason and usage for every cut", async () => {
    const request = JSON.stringify({ model: (config(upstream.port).model as { name: string }).name, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
    const outputs = new Map<string, number[]>();
    const cut = async (at: number) => {
      const r = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-split": String(at) }, body: request });
      expect(r.status).toBe(200);
      const key = JSON.stringify(decode(await r.text()));
      outputs.set(key, [...(outputs.get(key) ?? []), at]);
    };
    // Eight cuts in flight at a time; every offset from 0 to the whole body.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next <= body.length) await cut(next++);
      }),
    );
    // One single output for all cuts, and it is the recorded answer.
    expect([...outputs.keys()]).toHaveLength(1);
    const only = JSON.parse([...outputs.keys()][0]!) as ReturnType<typeof decode>;
    expect(only.text).toBe(expected.text);
    const mapped: Record<string, string> = { end_turn: "stop", COMPLETE: "stop", max_tokens: "length", MAX_TOKENS: "length" };
    expect(only.finish).toBe(mapped[expected.finish_reason] ?? expected.finish_reason);
    expect(only.done).toBe(true);
    if (expected.usage) expect(only.usage).toMatchObject(expected.usage);
  }, 120_000);
});
