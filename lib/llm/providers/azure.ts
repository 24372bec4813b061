// Azure OpenAI: {instance}.openai.azure.com/openai/deployments/{deployment}/…?api-version=…
// The body is OpenAI's; the deployment decides the model. stream_options is refused by older
// api-versions (2023-05-15 answers 400), so usage is only asked for from 2024-08-01 on;
// before that the filter estimates it.

import { Header, LlmRequest, RouteType } from "../provider";
import { OpenAiFormatProvider } from "./openai-format";

/** First api-version that accepts stream_options.include_usage. */
const STREAM_USAGE_SINCE = "2024-08-01";

export class AzureProvider extends OpenAiFormatProvider {
  validate(route: RouteType): string | null {
    const o = this.config.options;
    if (o.upstreamUrl.length == 0) {
      if (o.azureInstance.length == 0) return "model.options.azure_instance is required for provider azure";
      if (o.azureDeploymentId.length == 0) return "model.options.azure_deployment_id is required for provider azure";
    }
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    const o = this.config.options;
    return "https://" + o.azureInstance + ".openai.azure.com:443/openai/deployments/" + o.azureDeploymentId;
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/chat/completions";
    if (route == RouteType.Completions) return "/completions";
    if (route == RouteType.Embeddings) return "/embeddings";
    return "";
  }

  defaultQuery(route: RouteType): Header[] {
    return [new Header("api-version", this.config.options.azureApiVersion)];
  }

  acceptsStreamOptions(req: LlmRequest): bool {
    const v = req.queryParam("api-version");
    const version = v != null ? v : this.config.options.azureApiVersion;
    return version >= STREAM_USAGE_SINCE;
  }

  streamReportsUsage(): bool {
    const v = this.config.options.azureApiVersion;
    return v >= STREAM_USAGE_SINCE;
  }
}
