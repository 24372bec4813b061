// What the prompt filters keep across requests: the buffer request bodies are read into
// (lib/prompt/read.ts), the decorator's output region (lib/prompt/out.ts) and the stream contexts
// (lib/runtime/pool.ts). A body must never see a byte or a length of the one before it, on either
// side of the kept sizes, and interleaved streams must each keep their own context.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, resolve } from "node:path";
import { ProxyWasmRuntime, type WasmPlugin } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import { pluginConfig } from "./support/plugin-config.ts";
import { Request, run } from "./support/prompt-run.ts";

const ROOT = resolve(import.meta.dirname, "..");
const KEPT_MAX = 65536; // lib/prompt/read.ts and lib/prompt/out.ts
const PRE = '{"role":"system","content":"Be brief."}';
const APP = '{"role":"user","content":"Thanks é 😀"}';

let runtime: ProxyWasmRuntime;
let chain: WasmPlugin[];

function plugin(name: string, config: unknown) {
  return runtime.loadPlugin(pluginConfig(join(ROOT, "build", `${name}.wasm`), { name, rootId: name, vmId: name, config: JSON.stringify(config) }));
}

/** A chat of exactly `size` bytes whose last user message is `last`. */
function chat(size: number, last: string): string {
  const frame = (pad: string) => `{"model":"m","messages":[{"role":"user","content":"${pad}"},{"role":"user","content":"${last}"}]}`;
  const n = size - Buffer.byteLength(frame(""));
  const pad = "the quick brown \\\"fox\\\" jumps é ".repeat(Math.ceil(n / 30) + 1);
  // Cut on a character boundary that leaves no escape half-open, then fill up with spaces.
  let cut = Buffer.from(pad).subarray(0, n).toString("utf8").replace(/\uFFFD+$/, "").replace(/\\+$/, (m) => (m.length % 2 ? m.slice(1) : m));
  cut += " ".repeat(n - Buffer.byteLength(cut));
  const body = frame(cut);
  expect(Buffer.byteLength(body)).toBe(size);
  return body;
}

/** What the decorator makes of chat(): the configured messages around the client's. */
function decorated(body: string): string {
  return body.replace('"messages":[', `"messages":[${PRE},`).replace(/\]\}$/, `,${APP}]}`);
}

beforeAll(async () => {
  runtime = new ProxyWasmRuntime({ concurrency: 1, stats: new StatsStore({}), logLevel: 4, onLog: () => {}, clusters: { has: () => false, callout: () => ({ promise: new Promise(() => {}), cancel() {} }) } });
  chain = [
    await plugin("ai-prompt-template", { templates: [{ name: "t", template: '{"messages":[{"role":"user","content":"{{x}}"}]}' }], allow_untemplated_requests: true }),
    await plugin("ai-prompt-decorator", { prompts: { prepend: [{ role: "system", content: "Be brief." }], append: [{ role: "user", content: "Thanks é 😀" }] } }),
    await plugin("ai-prompt-guard", { deny_patterns: ["hack"], max_request_body_size: 0 }),
  ];
});
afterAll(() => runtime?.close());

describe("bodies read into a kept buffer, rewritten into a kept region", () => {
  it("gives each body its own bytes and length, growing, shrinking and across the kept size", () => {
    const grown = Buffer.byteLength(decorated(chat(1000, ""))) - 1000;
    const sizes = [3000, 200, 70000, 1500, KEPT_MAX, KEPT_MAX + 1, 100, KEPT_MAX - grown, KEPT_MAX - grown + 1, 40000, 900];
    for (const size of sizes) {
      for (const last of ["how do I hack it", "how do I fix it"]) {
        const body = chat(size, last);
        const r = run(chain, Buffer.from(body));
        if (last.includes("hack")) {
          expect(r.status, `${size} ${last}`).toBe(400);
          expect(r.upstream).toBeNull();
        } else {
          expect(r.status, `${size} ${last}`).toBe(200);
          expect(Buffer.from(r.upstream!, "latin1").toString("utf8"), `${size}`).toBe(decorated(body));
        }
      }
    }
  });

  it("refuses a short invalid body after a long valid one (no stale tail completes it)", () => {
    const long = chat(5000, "fine");
    expect(run(chain, Buffer.from(long)).status).toBe(200);
    // The long body's first bytes, cut: a reader that kept the old length would see valid JSON.
    const r = run(chain, Buffer.from(long.slice(0, 100)));
    expect(r.status).toBe(400);
    expect(r.reply).toContain("this LLM route only supports application/json requests");
  });
});

describe("content-length read into kept memory", () => {
  it("answers 413 from the header, and reads a value too long for the kept room the ordinary way", async () => {
    const limited = [
      await plugin("ai-prompt-template", { templates: [{ name: "t", template: '{"messages":[{"role":"user","content":"{{x}}"}]}' }], max_request_body_size: 1000 }),
      await plugin("ai-prompt-guard", { deny_patterns: ["hack"], max_request_body_size: 1000 }),
    ];
    const body = Buffer.from(chat(900, "fine"));
    // Announced over the limit: refused at the headers, whatever arrives.
    for (const f of limited) expect(run([f], body, "1001").status).toBe(413);
    // A value longer than the 32 bytes kept for it, or not a number: no early answer, the body decides.
    for (const cl of ["0".repeat(40) + "900", "9".repeat(40), "12abc", "", null]) {
      for (const f of limited) expect(run([f], body, cl).status, `${cl}`).toBe(200);
      expect(run(limited, Buffer.from(chat(1001, "fine")), cl).status, `${cl}`).toBe(413);
    }
    expect(run(limited, body, "900").upstream).toBe(body.toString("latin1"));
  });
});

describe("stream contexts kept for the next stream", () => {
  it("keeps interleaved streams apart when a deleted stream's contexts serve a new one", () => {
    const a = chat(2000, "first");
    const b = chat(300, "second");
    const c = chat(1200, "third, a hack");
    const d = chat(800, "fourth");
    const ra = new Request(chain, Buffer.from(a));
    const rb = new Request(chain, Buffer.from(b));
    expect(ra.finish().upstream).toBe(Buffer.from(decorated(a)).toString("latin1"));
    // ra's contexts were deleted and are kept: rc and rd get them while rb is still open.
    const rc = new Request(chain, Buffer.from(c));
    const rd = new Request(chain, Buffer.from(d));
    expect(rc.finish().status).toBe(400);
    expect(rb.finish().upstream).toBe(Buffer.from(decorated(b)).toString("latin1"));
    expect(rd.finish().upstream).toBe(Buffer.from(decorated(d)).toString("latin1"));
  });
});
