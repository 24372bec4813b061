// ai-response-transformer configuration: ai-request-transformer's fields plus Kong's
// parse_llm_response_json_instructions (lib/transformer/config.ts; see README.md).

import { parseTransformerConfig, TransformerConfigResult } from "../../lib/transformer/config";

export function parseConfig(bytes: Uint8Array, env: Map<string, string>): TransformerConfigResult {
  return parseTransformerConfig(bytes, env, true);
}
