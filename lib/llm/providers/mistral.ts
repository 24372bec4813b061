// Mistral La Plateforme (mistral_format=openai): OpenAI-like chat and embeddings.
// Differences that matter: no stream_options (usage always comes on the final chunk),
// extra fields are refused (422 extra_forbidden), max_completion_tokens is max_tokens and
// OpenAI's `seed` is `random_seed`; top_k and store are dropped. Mistral's own
// `safe_prompt` and `random_seed` pass through under their names.
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

  droppedKeys(): string[] {
    return MISTRAL_DROPPED;
  }

  renames(): string[] {
    return MISTRAL_RENAMES;
  }
}

const MISTRAL_DROPPED = ["top_k", "stream_options", "store"];
/** max_completion_tokens is max_tokens; OpenAI's seed is random_seed. */
const MISTRAL_RENAMES = ["max_completion_tokens", "max_tokens", "seed", "random_seed"];
