// Tool use in the Cohere v1 chat simulator: Cohere's request validation for `tools`,
// `tool_results` and chat_history entries (unknown fields are Cohere's 422, malformed ones
// its 400), and the deterministic model: it calls every offered tool whose name the user's
// message contains as a word, and answers tool results with their text.
// https://docs.cohere.com/v1/reference/chat , https://docs.cohere.com/docs/parameter-types-in-tool-use
import type { Reply } from "./server.ts";
import { json } from "./server.ts";
import { countWords, isRecord } from "./model.ts";

export interface ParamDef {
  type: string;
  description?: string;
  required?: boolean;
}

export interface CohereTool {
  name: string;
  description: string;
  parameter_definitions?: Record<string, ParamDef>;
}

export interface CohereCall {
  name: string;
  parameters: Record<string, unknown>;
}

export interface CohereResult {
  call: CohereCall;
  outputs: Record<string, unknown>[];
}

/** Cohere's answer to a field it does not know (HTTP 422). */
export function unknownField(name: string): Reply {
  return json(422, { message: `unknown field: parameter '${name}' is not a valid field. For proper usage, please refer to https://docs.cohere.com/reference/chat` });
}

export function invalid(message: string): Reply {
  return json(400, { message: `invalid request: ${message}` });
}

/** The v1 chat request fields (cohere-python's Client.chat). */
export const CHAT_FIELDS = new Set([
  "message", "model", "stream", "preamble", "chat_history", "conversation_id", "prompt_truncation", "connectors",
  "search_queries_only", "documents", "citation_quality", "temperature", "max_tokens", "max_input_tokens", "k", "p",
  "seed", "stop_sequences", "frequency_penalty", "presence_penalty", "raw_prompting", "tools", "tool_results",
  "force_single_step", "response_format", "safety_mode",
]);

/** A 422 for the first key of `o` that is not in `known`, else null. */
export function unknownKey(o: Record<string, unknown>, known: readonly string[] | Set<string>): Reply | null {
  const set = known instanceof Set ? known : new Set(known);
  for (const k of Object.keys(o)) if (!set.has(k)) return unknownField(k);
  return null;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** JSON Schema type names: not Python types, so Cohere cannot use them. */
const JSON_SCHEMA_TYPES = new Set(["string", "integer", "number", "boolean", "array", "null"]);

/** A Python type expression as Cohere documents them: `str`, `List[str]`, `Dict[str, int]`, a class name. */
export function isPythonType(t: string): boolean {
  let i = 0;
  const s = t.replace(/\s+/g, "");
  const type = (): boolean => {
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(s.slice(i));
    if (!m || JSON_SCHEMA_TYPES.has(m[0])) return false;
    i += m[0].length;
    if (s[i] !== "[") return true;
    i++;
    if (!type()) return false;
    while (s[i] === ",") {
      i++;
      if (!type()) return false;
    }
    if (s[i] !== "]") return false;
    i++;
    return true;
  };
  return type() && i === s.length;
}

/** Validates `tools`; returns them or Cohere's error. */
export function checkTools(v: unknown): CohereTool[] | Reply {
  if (!Array.isArray(v)) return invalid("tools must be a list of tools.");
  const out: CohereTool[] = [];
  for (const [i, t] of v.entries()) {
    if (!isRecord(t)) return invalid(`tools[${i}] must be an object.`);
    const unknown = unknownKey(t, ["name", "description", "parameter_definitions"]);
    if (unknown) return unknown;
    if (typeof t["name"] !== "string" || !NAME.test(t["name"]))
      return invalid(`tools[${i}].name must contain only the characters a-z, A-Z, 0-9, _ and must not begin with a digit.`);
    if (typeof t["description"] !== "string") return invalid(`tools[${i}].description is required.`);
    const defs = t["parameter_definitions"];
    if (defs !== undefined) {
      if (!isRecord(defs)) return invalid(`tools[${i}].parameter_definitions must be an object.`);
      for (const [name, d] of Object.entries(defs)) {
        const at = `tools[${i}].parameter_definitions.${name}`;
        if (!NAME.test(name)) return invalid(`${at}: parameter names must contain only the characters a-z, A-Z, 0-9, _ and must not begin with a digit.`);
        if (!isRecord(d)) return invalid(`${at} must be an object.`);
        const u = unknownKey(d, ["description", "type", "required"]);
        if (u) return u;
        if (typeof d["type"] !== "string" || !isPythonType(d["type"])) return invalid(`${at}.type must be a valid Python type.`);
        if (d["description"] !== undefined && typeof d["description"] !== "string") return invalid(`${at}.description must be a string.`);
        if (d["required"] !== undefined && typeof d["required"] !== "boolean") return invalid(`${at}.required must be a boolean.`);
      }
    }
    out.push(t as unknown as CohereTool);
  }
  return out;
}

/** Validates one `{name, parameters}` call. */
export function checkCall(c: unknown, at: string): CohereCall | Reply {
  if (!isRecord(c)) return invalid(`${at} must be an object.`);
  const u = unknownKey(c, ["name", "parameters"]);
  if (u) return u;
  if (typeof c["name"] !== "string") return invalid(`${at}.name is required.`);
  if (!isRecord(c["parameters"])) return invalid(`${at}.parameters must be an object.`);
  return c as unknown as CohereCall;
}

/** Validates a `tool_results` list (top level or in a TOOL history entry). */
export function checkResults(v: unknown, at: string): CohereResult[] | Reply {
  if (!Array.isArray(v)) return invalid(`${at} must be a list.`);
  const out: CohereResult[] = [];
  for (const [i, r] of v.entries()) {
    const rat = `${at}[${i}]`;
    if (!isRecord(r)) return invalid(`${rat} must be an object.`);
    const u = unknownKey(r, ["call", "outputs"]);
    if (u) return u;
    const call = checkCall(r["call"], `${rat}.call`);
    if ("kind" in call) return call;
    const outputs = r["outputs"];
    if (!Array.isArray(outputs) || !outputs.every((o) => isRecord(o))) return invalid(`${rat}.outputs must be a list of objects.`);
    out.push({ call, outputs: outputs as Record<string, unknown>[] });
  }
  return out;
}

/** A chat_history entry: USER/CHATBOT/SYSTEM need a message; CHATBOT may carry tool_calls; TOOL carries tool_results. */
export function checkHistoryEntry(h: Record<string, unknown>, i: number): Reply | null {
  const at = `chat_history[${i}]`;
  if (h["role"] === "TOOL") {
    const u = unknownKey(h, ["role", "tool_results"]);
    if (u) return u;
    const r = checkResults(h["tool_results"] ?? [], `${at}.tool_results`);
    return "kind" in r ? r : null;
  }
  const u = unknownKey(h, ["role", "message", "tool_calls"]);
  if (u) return u;
  if (typeof h["message"] !== "string") return invalid("all elements in history must have a message.");
  if (h["tool_calls"] !== undefined) {
    if (h["role"] !== "CHATBOT" || !Array.isArray(h["tool_calls"])) return invalid(`${at}.tool_calls must be a list of tool calls of a CHATBOT message.`);
    for (const [j, c] of h["tool_calls"].entries()) {
      const r = checkCall(c, `${at}.tool_calls[${j}]`);
      if ("kind" in r) return r;
    }
  }
  return null;
}

/** The text of tool outputs: every value (strings as they are, others as JSON), space separated. */
export function outputsText(results: readonly CohereResult[]): string {
  const parts: string[] = [];
  for (const r of results) for (const o of r.outputs) for (const v of Object.values(o)) parts.push(typeof v === "string" ? v : JSON.stringify(v));
  return parts.join(" ");
}

/** The model's deterministic argument for a parameter of a Python type, from the user's message. */
function argument(type: string, message: string): unknown {
  const base = type.replace(/\[.*$/, "");
  if (base === "str") return message;
  if (base === "int") return countWords(message);
  if (base === "float") return countWords(message) + 0.5;
  if (base === "bool") return true;
  if (base === "List") return [message];
  if (base === "Dict") return { text: message };
  return message;
}

/** The calls the model makes: each offered tool named in the message as a word, with its required parameters filled in. */
export function chooseCalls(tools: readonly CohereTool[], message: string): CohereCall[] {
  const words = new Set(message.split(/[^A-Za-z0-9_]+/));
  return tools
    .filter((t) => words.has(t.name))
    .map((t) => {
      const parameters: Record<string, unknown> = {};
      for (const [name, d] of Object.entries(t.parameter_definitions ?? {})) if (d.required === true) parameters[name] = argument(d.type, message);
      return { name: t.name, parameters };
    });
}

/** The plan text a multi-step model writes before its calls. */
export function plan(calls: readonly CohereCall[]): string {
  return `I will use ${calls.map((c) => c.name).join(" and ")}.`;
}

/** Cuts text into pieces of at most `n` characters (argument streaming). */
export function slices(text: string, n = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}
