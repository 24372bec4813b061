// lib/prompt: what the prompt filters (template, decorator, guard) share: byte-level reads of
// validated JSON, a JSON writer, OpenAI-shaped errors and the buffered JSON request body.
export * from "./scan";
export { ByteWriter, jsonString } from "./writer";
export { openAiError, replyError } from "./errors";
export { JsonBodyStream, JsonDoc, readJsonDoc, DEFAULT_MAX_REQUEST_BODY_SIZE } from "./body";
export { ConfigReader, codePoints } from "./config";
