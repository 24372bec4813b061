// One ai-proxy configuration per provider, each against its simulator, with the credential
// from a {vault://env/…} reference: the table the cross-provider suites (secrets, broken
// upstreams) run over. `key` is the vault value and the key the simulator accepts.
import { startAnthropic, startAzure, startCohere, startGemini, startMistral, startOllama, startOpenAI, type Simulator } from "../simulators/index.ts";

export const KEY_ENV = "UPSTREAM_KEY";
const vault = `{vault://env/${KEY_ENV}}`;
const bearer = { header_name: "Authorization", header_value: `Bearer ${vault}` };

export interface ProviderCase {
  name: string;
  key: string;
  start(key: string): Promise<Simulator>;
  /** ai-proxy's `model` for this simulator. */
  model(sim: Simulator): Record<string, unknown>;
  auth: Record<string, unknown>;
  /** The upstream always streams chat (Gemini's streamGenerateContent): a stream answering stream:false is aggregated, not refused. */
  alwaysStreams?: boolean;
}

export const PROVIDER_CASES: ProviderCase[] = [
  { name: "openai", key: "sk-proj-SECRETopenai0123456789abcdef", start: (k) => startOpenAI({ apiKey: k }), model: () => ({ provider: "openai", name: "gpt-4o-mini" }), auth: bearer },
  {
    name: "azure",
    key: "SECRETazure0123456789abcdef0123",
    start: (k) => startAzure({ apiKey: k, deployment: "dep-1" }),
    model: () => ({ provider: "azure", name: "gpt-4o-mini", options: { azure_instance: "myres", azure_deployment_id: "dep-1" } }),
    auth: { header_name: "api-key", header_value: vault },
  },
  {
    name: "anthropic",
    key: "sk-ant-api03-SECRETanthropic0123456789",
    start: (k) => startAnthropic({ apiKey: k }),
    model: () => ({ provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01" } }),
    auth: { header_name: "x-api-key", header_value: vault },
  },
  { name: "cohere", key: "SECRETcohere0123456789abcdefghij", start: (k) => startCohere({ apiKey: k }), model: () => ({ provider: "cohere", name: "command-r" }), auth: bearer },
  {
    name: "mistral",
    key: "SECRETmistral0123456789abcdefgh",
    start: (k) => startMistral({ apiKey: k }),
    model: () => ({ provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai" } }),
    auth: bearer,
  },
  {
    // A query credential: it also travels in :path, where the access log must not show it.
    name: "gemini",
    key: "AIzaSySECRETgemini0123456789abcdef",
    start: (k) => startGemini({ apiKey: k }),
    model: () => ({ provider: "gemini", name: "gemini-2.0-flash" }),
    auth: { param_name: "key", param_value: vault, param_location: "query" },
    alwaysStreams: true,
  },
  {
    // Ollama checks no key; the gateway still sends the one it holds.
    name: "llama2",
    key: "SECRETllama0123456789abcdefghijk",
    start: () => startOllama(),
    model: (sim) => ({ provider: "llama2", name: "llama3.2", options: { llama2_format: "ollama", upstream_url: `${sim.url}/api/chat` } }),
    auth: bearer,
  },
];
