// Mistral La Plateforme (mistral_format=openai): OpenAI-like chat and embeddings.
// Differences that matter: no stream_options (usage always comes on the final chunk),
// extra fields are refused (422 extra_forbidden), max_completion_tokens is max_tokens.
// https://docs.mistral.ai/api/

import { LlmRequest, RouteType } from "../provider";
import { OpenAiFormatProvider } from "./openai-format";

export class MistralProvider extends OpenAiFormatProvider {
  defaultBaseUrl(): string {
    return "https://api.mistral.ai:443";
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/v1/chat/completions";
    if (route == RouteType.Embeddings) return "/v1/embeddings";
    if (route == RouteType.Preserve) return "";
    return null; // completions: only with upstream_url (Kong)
  }

  acceptsStreamOptions(req: LlmRequest): bool {
    return false;
  }

  isDropped(key: string): bool {
    return key == "top_k" || key == "stream_options" || key == "store";
  }

  renamed(key: string): string {
    return key == "max_completion_tokens" ? "max_tokens" : "";
  }
}
