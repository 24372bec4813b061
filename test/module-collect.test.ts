// The modules collect their garbage only between callbacks (lib/runtime/collect.ts: the minimal
// runtime never collects by itself). Linear memory never shrinks, so a missed collection shows
// as growth: over many streams, over one stream of many chunks, and over large bodies, each
// VM's memory must stop growing once warm.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DecoderFilterCallbacks, type DownstreamSink, type HttpFilter } from "../host/http/filter-manager.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../host/abi/enums.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import type { ProxyWasmRuntime, WasmPlugin } from "../host/proxy/runtime.ts";
import { filter } from "./support/gateway.ts";
import { pluginConfig } from "./support/plugin-config.ts";
import { testRuntime } from "./support/runtime.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CHAIN = ["ai-prompt-template", "ai-prompt-decorator", "ai-prompt-guard", "ai-proxy"];

beforeAll(() => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), ...CHAIN], { cwd: ROOT, stdio: "pipe" });
}, 300_000);

const CONFIGS: Record<string, string> = {
  "ai-prompt-template": JSON.stringify({ templates: [{ name: "t", template: '{"messages":[{"role":"user","content":"{{q}}"}]}' }], allow_untemplated_requests: true }),
  "ai-prompt-decorator": JSON.stringify({ prompts: { prepend: [{ role: "system", content: "Be brief." }] } }),
  "ai-prompt-guard": JSON.stringify({ deny_patterns: ["(?i)ignore (all )?previous instructions", "\\b\\d{3}-\\d{2}-\\d{4}\\b"] }),
  "ai-proxy": JSON.stringify({ route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer sk-test" }, model: { provider: "openai", name: "gpt-4o-mini" }, logging: { log_statistics: true } }),
};

const sink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

/** The upstream's end of a stream: takes the request, and lets the test send the answer. */
class Upstream implements HttpFilter {
  cb!: DecoderFilterCallbacks;
  ended = false;
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(_h: HeaderMap, end: boolean): HeadersStatus {
    this.ended = end;
    return HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    data.drain(data.length);
    this.ended = end;
    return DataStatus.StopIterationNoBuffer;
  }
  decodeTrailers(): TrailersStatus {
    return TrailersStatus.StopIteration;
  }
}

let runtime: ProxyWasmRuntime | undefined;
afterEach(() => runtime?.close());

async function load(names: string[]): Promise<WasmPlugin[]> {
  runtime = testRuntime().runtime;
  const r = runtime;
  return Promise.all(names.map((n) => r.loadPlugin(pluginConfig(filter(n), { name: n, rootId: n, vmId: n, config: CONFIGS[n] }))));
}

/** Starts a stream through `plugins` with `body`; answers the upstream's part to the caller. */
function start(plugins: WasmPlugin[], body: string): { fm: FilterManager; up: Upstream } {
  const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), sink, 1 << 30);
  for (const p of plugins) fm.addFilter(p.createStreamContext(0));
  const up = new Upstream();
  fm.addFilter(up);
  fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"]]), false);
  fm.decodeData(null, new BufferInstance(Buffer.from(body)), true);
  expect(up.ended).toBe(true);
  return { fm, up };
}

const chat = (content: string) => JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] });
const COMPLETION = JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });

function answerJson(s: { fm: FilterManager; up: Upstream }): void {
  s.up.cb.encodeHeaders(new HeaderMap([[":status", "200"], ["content-type", "application/json"]]), false);
  s.up.cb.encodeData(new BufferInstance(Buffer.from(COMPLETION)), true);
  expect(s.fm.destroyed).toBe(true);
  expect(s.fm.streamInfo.responseCode).toBe(200);
}

const pages = (plugins: WasmPlugin[]) => plugins.map((p) => p.vm(0).memory.size >> 16);

describe("garbage collection between callbacks", () => {
  it("keeps every VM of the chain flat over many streams", async () => {
    const chain = await load(CHAIN);
    const body = chat("How do I configure retries? " + "lorem ipsum ".repeat(80));
    for (let i = 0; i < 2_000; i++) answerJson(start(chain, body));
    const warm = pages(chain);
    for (let i = 0; i < 20_000; i++) answerJson(start(chain, body));
    expect(pages(chain)).toEqual(warm);
  }, 120_000);

  it("keeps ai-proxy flat over one stream of many chunks", async () => {
    const [proxy] = await load(["ai-proxy"]);
    const s = start([proxy!], JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true }));
    s.up.cb.encodeHeaders(new HeaderMap([[":status", "200"], ["content-type", "text/event-stream"]]), false);
    const event = (i: number) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta: { content: `token ${i} ` }, finish_reason: null }] })}\n\n`;
    const send = (from: number, to: number) => {
      for (let i = from; i < to; i++) s.up.cb.encodeData(new BufferInstance(Buffer.from(event(i))), false);
    };
    send(0, 2_000);
    const warm = pages([proxy!]);
    // About 200 bytes of event each, translated and scanned: 4 MB through the one stream.
    send(2_000, 22_000);
    expect(pages([proxy!])).toEqual(warm);
    s.up.cb.encodeData(new BufferInstance(Buffer.from("data: [DONE]\n\n")), true);
    expect(s.fm.destroyed).toBe(true);
  }, 120_000);

  it("keeps every VM of the chain flat over large bodies", async () => {
    const chain = await load(CHAIN);
    const body = chat("How do I configure retries? " + "lorem ipsum dolor sit amet ".repeat(10_000)); // 270 KB
    for (let i = 0; i < 30; i++) answerJson(start(chain, body));
    const warm = pages(chain);
    for (let i = 0; i < 300; i++) answerJson(start(chain, body));
    expect(pages(chain)).toEqual(warm);
  }, 120_000);
});
