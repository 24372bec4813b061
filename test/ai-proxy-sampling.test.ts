// Which sampling parameters reach each provider for a request that sets all of them, and
// for the same values set in model.options (which override the request's, as in Kong).
// Each provider's documented constraints decide (see the decision list in its file under
// lib/llm/providers/): Anthropic refuses temperature with top_p on current models, Cohere
// takes p in [0.01, 0.99] and k in [0, 500], Gemini 1.5/2.0 take topK in [1, 41), Mistral
// names the seed random_seed and refuses unknown members.
import { beforeAll, describe, expect, it } from "vitest";
import { buildModules, Lab, type Json } from "./ai-proxy-providers-support.ts";

beforeAll(() => buildModules(), 300_000);

/** A chat request that sets every sampling parameter an OpenAI client can send. */
const ALL = {
  messages: [{ role: "user", content: "hi" }],
  temperature: 0.7,
  top_p: 1,
  top_k: 64,
  seed: 42,
  frequency_penalty: 0.5,
  presence_penalty: 0.25,
  max_tokens: 100,
  stop: ["END"],
};

const MODELS: Record<string, Json> = {
  openai: { provider: "openai", name: "gpt-4o-mini" },
  azure: { provider: "azure", name: "gpt-4o", options: { azure_instance: "inst", azure_deployment_id: "dep" } },
  anthropic: { provider: "anthropic", name: "claude-sonnet-4-5", options: { anthropic_version: "2023-06-01" } },
  cohere: { provider: "cohere", name: "command-r" },
  mistral: { provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai" } },
  gemini: { provider: "gemini", name: "gemini-2.0-flash" },
  llama2: { provider: "llama2", name: "llama-2-7b-chat", options: { llama2_format: "raw", upstream_url: "http://tgi.local/generate" } },
  ollama: { provider: "llama2", name: "llama3", options: { llama2_format: "ollama", upstream_url: "http://ollama.local/api/chat" } },
};

/** The upstream body for `body` through provider `name` (model options merged in). */
function translated(name: string, body: Json, options: Json = {}): Json {
  const base = MODELS[name]!;
  const model = { ...base, options: { ...((base.options as Json | undefined) ?? {}), ...options } };
  const l = new Lab();
  const c = l.configure("llm/v1/chat", model);
  expect(c.ok, c.text).toBe(true);
  const r = l.request(body);
  expect(r.ok, r.text).toBe(true);
  return r.value;
}

/** The sampling members of an upstream body, wherever the provider keeps them. */
function sampling(name: string, b: Json): Json {
  const pick = (o: Json | undefined, keys: string[]) => Object.fromEntries(keys.filter((k) => o && k in o).map((k) => [k, o![k]]));
  switch (name) {
    case "gemini":
      return pick(b.generationConfig as Json, ["temperature", "topP", "topK", "seed", "frequencyPenalty", "presencePenalty", "maxOutputTokens", "stopSequences"]);
    case "llama2":
      return pick(b.parameters as Json, ["temperature", "top_p", "top_k", "seed", "max_new_tokens", "stop"]);
    case "ollama":
      return pick(b.options as Json, ["temperature", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty", "num_predict", "stop"]);
    default:
      return pick(b, ["temperature", "top_p", "top_k", "p", "k", "seed", "random_seed", "frequency_penalty", "presence_penalty", "max_tokens", "stop", "stop_sequences"]);
  }
}

describe("sampling parameters per provider, for a request that sets all of them", () => {
  const expected: Record<string, Json> = {
    // OpenAI-format upstreams take everything but top_k (Kong removes it too).
    openai: { temperature: 0.7, top_p: 1, seed: 42, frequency_penalty: 0.5, presence_penalty: 0.25, max_tokens: 100, stop: ["END"] },
    azure: { temperature: 0.7, top_p: 1, seed: 42, frequency_penalty: 0.5, presence_penalty: 0.25, max_tokens: 100, stop: ["END"] },
    // Mistral: seed is random_seed; top_k would be refused (extra_forbidden).
    mistral: { temperature: 0.7, top_p: 1, random_seed: 42, frequency_penalty: 0.5, presence_penalty: 0.25, max_tokens: 100, stop: ["END"] },
    // Anthropic: temperature wins over top_p; no seed or penalties in the Messages API.
    anthropic: { temperature: 0.7, top_k: 64, max_tokens: 100, stop_sequences: ["END"] },
    // Cohere: top_p 1 → p 0.99 (its maximum); k as given within [0, 500].
    cohere: { temperature: 0.7, p: 0.99, k: 64, seed: 42, frequency_penalty: 0.5, presence_penalty: 0.25, max_tokens: 100, stop_sequences: ["END"] },
    // Gemini: topK clamped to 40.
    gemini: { temperature: 0.7, topP: 1, topK: 40, seed: 42, frequencyPenalty: 0.5, presencePenalty: 0.25, maxOutputTokens: 100, stopSequences: ["END"] },
    llama2: { temperature: 0.7, top_p: 1, top_k: 64, max_new_tokens: 100, stop: ["END"] },
    ollama: { temperature: 0.7, top_p: 1, top_k: 64, seed: 42, frequency_penalty: 0.5, presence_penalty: 0.25, num_predict: 100, stop: ["END"] },
  };
  for (const name of Object.keys(MODELS)) {
    it(name, () => {
      expect(sampling(name, translated(name, ALL))).toEqual(expected[name]);
    });
  }
});

describe("edges of the provider ranges", () => {
  it("anthropic: top_p alone is sent; top_k 0 is left out", () => {
    expect(sampling("anthropic", translated("anthropic", { messages: ALL.messages, top_p: 0.9, top_k: 0 }))).toEqual({ top_p: 0.9, max_tokens: 4096 });
  });

  it("anthropic: configured temperature and top_p give temperature only", () => {
    expect(sampling("anthropic", translated("anthropic", { messages: ALL.messages }, { temperature: 0.2, top_p: 0.5, max_tokens: 10 }))).toEqual({ temperature: 0.2, max_tokens: 10 });
  });

  it("cohere: p and k clamped into Cohere's ranges", () => {
    expect(sampling("cohere", translated("cohere", { messages: ALL.messages, top_p: 0, top_k: 900 }))).toMatchObject({ p: 0.01, k: 500 });
    expect(sampling("cohere", translated("cohere", { messages: ALL.messages, top_p: 0.5 }))).toMatchObject({ p: 0.5 });
  });

  it("gemini: topK within range as given, 0 left out", () => {
    expect(sampling("gemini", translated("gemini", { messages: ALL.messages, top_k: 20 }))).toEqual({ topK: 20 });
    expect(sampling("gemini", translated("gemini", { messages: ALL.messages, top_k: 0 }))).toEqual({});
  });

  it("mistral: the client's own random_seed and safe_prompt win over seed", () => {
    const b = translated("mistral", { messages: ALL.messages, seed: 1, random_seed: 7, safe_prompt: true });
    expect(b).toMatchObject({ random_seed: 7, safe_prompt: true });
    expect(b).not.toHaveProperty("seed");
  });
});
