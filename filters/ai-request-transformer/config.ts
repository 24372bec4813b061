// ai-request-transformer configuration: Kong's fields (prompt, transformation_extract_pattern,
// http_timeout, https_verify, max_request_body_size, llm, the refused http(s)_proxy_*), plus
// llm_cluster and allow_on_headers_stop_iteration. Shared with ai-response-transformer in
// lib/transformer/config.ts; see README.md for each field.

import { parseTransformerConfig, TransformerConfigResult } from "../../lib/transformer/config";

export function parseConfig(bytes: Uint8Array, env: Map<string, string>): TransformerConfigResult {
  return parseTransformerConfig(bytes, env, false);
}
