// ai-proxy: one OpenAI-style API in front of OpenAI, Azure, Anthropic, Cohere, Mistral and
// Llama. See README.md for the configuration and behaviour. The stream logic is
// lib/llm/route/proxy-stream.ts (shared with ai-proxy-advanced, which runs it per try).

// The callbacks it uses, and no others: Envoy (proxy-wasm-cpp-host) makes no call for an export
// a module lacks, and without proxy_on_done a context is done at once, which is what the
// default onDone answers (neither this root nor its streams override it).
export {
  malloc,
  proxy_abi_version_0_2_1,
  proxy_on_context_create,
  proxy_on_vm_start,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_request_body,
  proxy_on_request_trailers,
  proxy_on_response_headers,
  proxy_on_response_body,
  proxy_on_response_trailers,
  proxy_on_log,
  proxy_on_delete,
} from "../../lib/runtime/exports";
import { HttpContext, RootContext, logError, logWarn, registerRootContext } from "../../lib/runtime";
import { Provider, UpstreamTarget } from "../../lib/llm/provider";
import { AiProxyConfig, parseConfig } from "../../lib/llm/route/config";
import { readEnvironment } from "../../lib/runtime/env";
import { LlmProxyStream, prepareTarget } from "../../lib/llm/route/proxy-stream";

export { MODEL_HEADER } from "../../lib/llm/route/proxy-stream";

class AiProxyRoot extends RootContext {
  config: AiProxyConfig = new AiProxyConfig();
  provider: Provider | null = null;
  /** Null when a templated field feeds it: then each request computes its own. */
  target: UpstreamTarget | null = null;

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes, readEnvironment());
    if (r.error != null) {
      logError("configuration refused: " + r.error!);
      return false;
    }
    const c = r.config!;
    const t = prepareTarget(c, "");
    if (t.error != null) {
      logError("configuration refused: " + t.error!);
      return false;
    }
    if (c.auth.missingEnv.length > 0) logWarn("environment variable " + c.auth.missingEnv + " is not set; requests will be refused until it is");
    this.config = c;
    this.provider = t.provider;
    this.target = t.target;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new LlmProxyStream(contextId, this, this.config, this.provider!, this.target);
  }
}

registerRootContext("", (id: u32): RootContext => new AiProxyRoot(id));
