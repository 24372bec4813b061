// One validation for template → decorator (lib/prompt/vouch.ts): the template records a keyed
// hash and the top-level spans of a body it forwards unchanged, and the decorator takes the spans
// instead of validating again when the hash matches. Checked in process, each filter in its own
// VM as Envoy runs them: the decorator forwards byte for byte what it forwards alone, on tricky
// bodies; a filter between the two that rewrites the body makes it validate (Kong's message for
// an invalid body unchanged); a record that matches is what it reads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, resolve } from "node:path";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { ProxyWasmRuntime, type WasmPlugin } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import { pluginConfig } from "./support/plugin-config.ts";
import { RECORD, run } from "./support/prompt-run.ts";

const ROOT = resolve(import.meta.dirname, "..");
const NOT_JSON = "this LLM route only supports application/json requests";

let runtime: ProxyWasmRuntime;
let template: WasmPlugin;
let decorator: WasmPlugin;

function plugin(name: string, config: unknown) {
  return runtime.loadPlugin(pluginConfig(join(ROOT, "build", `${name}.wasm`), { name, rootId: name, vmId: name, config: JSON.stringify(config) }));
}

/** `fields` as a chat body padded past the vouch threshold with a long first message. */
function big(fields: string, pad = 9000): Buffer {
  const filler = `{"role":"user","content":"${"lorem ipsum ".repeat(Math.ceil(pad / 12))}"}`;
  return Buffer.from(fields.replace("MSGS", filler));
}

beforeAll(async () => {
  runtime = new ProxyWasmRuntime({ concurrency: 1, stats: new StatsStore({}), logLevel: 4, onLog: () => {}, clusters: { has: () => false, callout: () => ({ promise: new Promise(() => {}), cancel() {} }) } });
  template = await plugin("ai-prompt-template", { templates: [{ name: "t", template: '{"messages":[{"role":"user","content":"{{x}}"}]}' }], allow_untemplated_requests: true });
  decorator = await plugin("ai-prompt-decorator", { prompts: { prepend: [{ role: "system", content: "Be brief." }], append: [{ role: "user", content: "Thanks \u00e9 \ud83d\ude00" }] } });
});
afterAll(() => runtime?.close());

const TRICKY = [
  `{"model":"m","messages":[MSGS,{"role":"user","content":"plain"}]}`,
  `  {  "model" : "m" ,\n "messages" :\t[ MSGS , {"role":"user","content":"q \\" b \\\\ s \\/ \\n \\u00e9 \\ud83d\\ude00 \\udc00"} ] , "n" : -1.5e+3 }  `,
  `{"messages":[MSGS],"messages":[{"role":"user","content":"the last one wins"}]}`,
  `{"mess\\u0061ges":[{"role":"user","content":"escaped key"}],"messages":[MSGS]}`,
  `{"model":"é✓😀","messages":[MSGS,{"role":"user","content":[{"type":"text","text":"x","text":"dup nested"}]}],"z":{"a":{"a":{"a":[[[[{"deep":true}]]]]}}}}`,
  `{"model":"m","messages":[MSGS],"messages2":{"messages":[]},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"x":null,"y":false,"t":true}`,
  `{"messages":[MSGS, "not an object", 1, null]}`,
  `{"messages":[MSGS],"prompt":false}`,
];

describe("one validation for template → decorator", () => {
  it("forwards byte for byte what the decorator forwards alone, on tricky bodies over the threshold", () => {
    for (const t of TRICKY) {
      const body = big(t);
      const withVouch = run([template, decorator], body);
      const alone = run([decorator], body);
      expect(withVouch.status, t).toBe(alone.status);
      expect(withVouch.reply, t).toBe(alone.reply);
      expect(withVouch.upstream, t).toBe(alone.upstream);
      expect(withVouch.status, t).toBe(200);
      // The template did vouch (so the decorator took the spans).
      expect(withVouch.record, t).toBe(true);
      expect(alone.record, t).toBe(false);
    }
  });

  it("vouches for nothing under the threshold, nor for a body it rejects", () => {
    expect(run([template, decorator], Buffer.from(`{"messages":[{"role":"user","content":"short"}]}`)).record).toBe(false);
    for (const bad of [big(`{"messages":[MSGS]`), big(`{"messages":[MSGS],}`), big(`[{"messages":[MSGS]}]`), big(`{"messages":[MSGS],"prompt":"p"}`)]) {
      const r = run([template, decorator], bad);
      expect(r.status).toBe(400);
      expect(r.upstream).toBeNull();
      expect(r.record).toBe(false);
    }
  });

  it("validates again when a filter between them rewrites the body (Kong's message for an invalid body unchanged)", () => {
    const body = big(`{"model":"m","messages":[MSGS]}`);
    const rewrites: ((b: Buffer) => Buffer)[] = [
      // Same length, invalid: a control byte inside a string, then a quote that ends one early.
      (b) => Buffer.from(b.toString("latin1").replace("lorem", "lo\u0001em"), "latin1"),
      (b) => Buffer.from(b.toString("latin1").replace("ipsum ", 'ipsum"'), "latin1"),
      // Same length, valid, other structure: the decorator must read it, not the template's spans.
      (b) => Buffer.from(b.toString("latin1").replace('{"model":"m",', '{"x":[1,2,3],'), "latin1"),
      // Another length.
      (b) => Buffer.concat([b.subarray(0, b.length - 1), Buffer.from(',"extra":1}')]),
    ];
    for (const rw of rewrites) {
      const rewritten = rw(body);
      expect(rewritten.length === body.length || rw === rewrites[3]).toBe(true);
      const between = run([template, (b) => rw(b), decorator], body);
      const alone = run([decorator], rewritten);
      expect(between.status).toBe(alone.status);
      expect(between.reply).toBe(alone.reply);
      expect(between.upstream).toBe(alone.upstream);
    }
    expect(run([decorator], rewrites[0]!(body)).reply).toContain(NOT_JSON);
  });

  it("reads the record when its hash matches: one that claims no members makes the decorator see no messages", () => {
    const body = big(`{"model":"m","messages":[MSGS]}`);
    const tamper = (b: Buffer, info: StreamInfo) => {
      const rec = info.filterState.getWasm(RECORD)!;
      const cut = Buffer.from(rec.subarray(0, 24));
      cut.writeUInt32LE(0, 20);
      info.filterState.setWasm(RECORD, cut);
      return b;
    };
    const r = run([template, tamper, decorator], body);
    expect(r.status).toBe(400);
    expect(r.reply).toContain("this LLM route only supports llm/chat type requests");
    // Without the tampering the same body is decorated.
    expect(run([template, decorator], body).status).toBe(200);
  });
});
