// OpenAI (api.openai.com): chat, completions and embeddings in its own format.
// https://platform.openai.com/docs/api-reference

import { RouteType } from "../provider";
import { OpenAiFormatProvider } from "./openai-format";

export class OpenAiProvider extends OpenAiFormatProvider {
  defaultBaseUrl(): string {
    return "https://api.openai.com:443";
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/v1/chat/completions";
    if (route == RouteType.Completions) return "/v1/completions";
    if (route == RouteType.Embeddings) return "/v1/embeddings";
    return "";
  }
}
