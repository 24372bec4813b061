// lib/prompt: what the prompt filters (template, decorator, guard) share: byte-level reads of
// validated JSON, OpenAI-shaped error replies (JSON is written with lib/llm/json-writer) and the buffered JSON request body.
export * from "./scan";
export { replyError } from "./errors";
export { JsonBodyStream, JsonDoc, readJsonDoc, DEFAULT_MAX_REQUEST_BODY_SIZE } from "./body";
export { ConfigReader, codePoints } from "./config";
