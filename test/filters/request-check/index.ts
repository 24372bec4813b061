// request-check: a test-only module exposing lib/llm/route's request validation and the
// OpenAI-format translation to test/ai-proxy-request-scan.test.ts, which calls these exports
// directly (no host) to compare the one-walk path with the slow one on the same bodies.

import { AiProxyConfig, parseConfig } from "../../../lib/llm/route/config";
import { lastScanAccepted, validateRequest } from "../../../lib/llm/route/request";
import { Header, Provider } from "../../../lib/llm/provider";
import { providerFor } from "../../../lib/llm/providers/index";
import { JsonWriter } from "../../../lib/llm/json-writer";
import { withoutMember } from "../../../lib/llm/json-scan";

let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);
let cfg: AiProxyConfig | null = null;
let provider: Provider | null = null;

export function inputBuffer(len: i32): usize {
  input = new ArrayBuffer(len);
  return changetype<usize>(input);
}
export function outputPtr(): usize {
  return changetype<usize>(output);
}
export function outputLen(): i32 {
  return output.byteLength;
}

function setOutput(b: Uint8Array): void {
  output = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/** Input: an ai-proxy configuration. 1 when accepted, 0 with the reason in the output. */
export function configure(): i32 {
  const r = parseConfig(Uint8Array.wrap(input), new Map<string, string>());
  if (r.config == null) {
    output = String.UTF8.encode(r.error!);
    return 0;
  }
  cfg = r.config;
  provider = providerFor(r.config!.model);
  return 1;
}

/**
 * Input: a client body. Validates it (fast 1: the one walk first; 0: the slow path only) and,
 * when accepted, translates it as the filter does. Output: everything the filter takes from
 * it, as JSON: {"status","message"} or {"model","stream","include_usage","max_tokens",
 * "temperature","top_p","top_k","spans","body"}. Returns whether the one walk accepted it.
 */
export function check(fast: i32): i32 {
  const c = cfg!;
  const body = Uint8Array.wrap(input);
  const v = validateRequest(body, c, 1735689600, "chatcmpl-test", new Array<Header>(), fast != 0);
  const w = new JsonWriter();
  w.beginObject();
  const req = v.req;
  if (req == null) {
    w.fieldInt("status", v.status).fieldString("message", v.message);
  } else {
    w.fieldString("model", req.model).fieldBool("stream", req.stream).fieldBool("include_usage", req.clientIncludeUsage);
    w.fieldInt("max_tokens", req.maxTokens).fieldNumber("temperature", req.temperature).fieldNumber("top_p", req.topP).fieldInt("top_k", req.topK);
    const ms = req.members();
    w.key("spans").beginArray();
    if (ms != null) for (let i = 0; i < ms.length; i++) w.beginArray().string(ms[i].key).int(ms[i].keyStart).int(ms[i].keyEnd).int(ms[i].valueStart).int(ms[i].valueEnd).endArray();
    w.endArray();
    const tr = provider!.translateRequest(req);
    if (tr.body != null) {
      const out = c.auth.allowOverride || tr.noClientKey ? tr.body! : withoutMember(tr.body!, "api_key");
      // The shortcut must agree with the walk it saves.
      w.fieldBool("no_client_key_agrees", !tr.noClientKey || withoutMember(tr.body!, "api_key") === tr.body!);
      w.key("body").stringUtf8(out);
    } else {
      w.fieldString("error", tr.error!);
    }
  }
  w.endObject();
  setOutput(w.toBytes());
  return lastScanAccepted ? 1 : 0;
}
