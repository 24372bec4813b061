// Maps `model.provider` (and its format option) to a Provider. One file per provider.
//
// anthropic.ts, cohere.ts, gemini.ts, ollama.ts (llama2_format=ollama and mistral_format=ollama) and
// llama2.ts (llama2_format=raw and openai) implement the native-format providers.
// PendingProvider remains the base of FormatRequired (a missing/unknown format option).

import {
  LlmRequest,
  ModelConfig,
  Provider,
  RouteType,
  StreamTranslator,
  TranslatedRequest,
  TranslatedResponse,
} from "../provider";
import { OpenAiProvider } from "./openai";
import { AzureProvider } from "./azure";
import { MistralProvider } from "./mistral";
import { AnthropicProvider } from "./anthropic";
import { CohereProvider } from "./cohere";
import { OllamaProvider } from "./ollama";
import { Llama2OpenAiProvider, Llama2Provider } from "./llama2";
import { OpenAiStreamTranslator } from "./openai-format";
import { GeminiProvider } from "./gemini";

/** The provider names the configuration accepts. */
export const PROVIDER_NAMES: string[] = ["openai", "azure", "anthropic", "cohere", "mistral", "llama2", "gemini"];

/** Stands in for a provider whose file has not landed: refuses the configuration. */
class PendingProvider extends Provider {
  validate(route: RouteType): string | null {
    return "model.provider " + this.config.provider + " is not available in this build";
  }
  defaultBaseUrl(): string {
    return "http://invalid";
  }
  defaultPath(route: RouteType): string | null {
    return null;
  }
  translateRequest(req: LlmRequest): TranslatedRequest {
    return TranslatedRequest.fail("provider " + this.config.provider + " is not available");
  }
  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    return TranslatedResponse.fail("provider " + this.config.provider + " is not available");
  }
  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new OpenAiStreamTranslator(req);
  }
}

function pending(model: ModelConfig): Provider {
  return new PendingProvider(model);
}

/**
 * The provider for a model config, or null when `model.provider` is unknown. Format
 * options (mistral_format, llama2_format) are checked by the caller's validate(): a
 * missing or unknown format gives a provider whose validate() names the field.
 */
export function providerFor(model: ModelConfig): Provider | null {
  const p = model.provider;
  if (p == "openai") return new OpenAiProvider(model);
  if (p == "azure") return new AzureProvider(model);
  if (p == "mistral") {
    const f = model.options.mistralFormat;
    if (f == "openai") return new MistralProvider(model);
    if (f == "ollama") return new OllamaProvider(model);
    return new FormatRequired(model, "model.options.mistral_format", "openai, ollama");
  }
  if (p == "anthropic") return new AnthropicProvider(model);
  if (p == "cohere") return new CohereProvider(model);
  if (p == "gemini") return new GeminiProvider(model);
  if (p == "llama2") {
    const f = model.options.llama2Format;
    if (f != "raw" && f != "openai" && f != "ollama") return new FormatRequired(model, "model.options.llama2_format", "raw, openai, ollama");
    if (f == "ollama") return new OllamaProvider(model);
    if (f == "openai") return new Llama2OpenAiProvider(model);
    return new Llama2Provider(model);
  }
  return null;
}

/** A provider whose required format option is missing or unknown: refuses the configuration. */
class FormatRequired extends PendingProvider {
  constructor(
    model: ModelConfig,
    public field: string,
    public allowed: string,
  ) {
    super(model);
  }
  validate(route: RouteType): string | null {
    return this.field + " is required for provider " + this.config.provider + " (one of: " + this.allowed + ")";
  }
}
