// Provider simulators for the ai-proxy tests: real HTTP servers on loopback that speak each
// provider's documented wire format and record what they receive. See README.md here.
export type { FailOptions, Pacing, SimRequest, Simulator } from "./server.ts";
export { receivedCredential } from "./misbehave.ts";
export type { EchoWay, Misbehavior } from "./misbehave.ts";
export { startOpenAI, OPENAI_DEFAULT_KEY } from "./openai.ts";
export type { OpenAIOptions } from "./openai.ts";
export { startAzure, AZURE_DEFAULT_KEY, AZURE_API_VERSIONS } from "./azure.ts";
export type { AzureOptions } from "./azure.ts";
export { startAnthropic, ANTHROPIC_DEFAULT_KEY, ANTHROPIC_VERSIONS } from "./anthropic.ts";
export type { AnthropicOptions } from "./anthropic.ts";
export { startCohere, COHERE_DEFAULT_KEY, COHERE_TEMPLATE_TOKENS } from "./cohere.ts";
export type { CohereOptions } from "./cohere.ts";
export { startMistral, MISTRAL_DEFAULT_KEY } from "./mistral.ts";
export type { MistralOptions } from "./mistral.ts";
export { startGemini, GEMINI_DEFAULT_KEY } from "./gemini.ts";
export type { GeminiOptions } from "./gemini.ts";
export { startOllama } from "./ollama.ts";
export type { OllamaOptions } from "./ollama.ts";
export { CREATED, CREATED_ISO, EMBED_DIMS, MISSING_MODEL, countWords, echo, embedding, embeddingBase64, pieces, toolInput } from "./model.ts";
export { FrameReader, decodeFrames, decodeStream, formatOf } from "./decode.ts";
export type { Decoded, Frame, StreamKind, ToolCall, Usage } from "./decode.ts";
export { startContentSafety, analyze, CONTENT_SAFETY_DEFAULT_KEY, CONTENT_SAFETY_API_VERSIONS, DEFAULT_LEXICON } from "./azure-content-safety.ts";
export type { Behaviour, ContentSafetyOptions, ContentSafetySimulator, Lexicon } from "./azure-content-safety.ts";
export { RECORD_KEEP } from "./server.ts";
export { startEntraId } from "./entra-id.ts";
export type { EntraIdOptions } from "./entra-id.ts";
