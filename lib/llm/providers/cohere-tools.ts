// Tool calling for Cohere's v1 Chat API (cohere.ts): OpenAI `tools` → Cohere `tools` with
// `parameter_definitions`, the `tool_choice` policy, assistant tool calls → Cohere calls,
// tool message content → `outputs`, and Cohere `tool_calls` → OpenAI `tool_calls`.
// https://docs.cohere.com/v1/reference/chat , https://docs.cohere.com/docs/parameter-types-in-tool-use
//
// Decisions:
// - parameter_definitions is flat: each top-level JSON Schema property becomes
//   {description, type, required} with Cohere's Python type names (string→str, integer→int,
//   number→float, boolean→bool, array→List / List[T], object→Dict / Dict[str, T]). `enum`
//   goes into the description ("Possible enum values: …", as Cohere advises). What Python
//   types cannot say (nested `properties`, unions, $ref/anyOf/oneOf/allOf, type lists) is
//   refused with the path of the schema part, never dropped. Validation keywords (format,
//   minimum, pattern, default…) have no place in parameter_definitions and are not sent.
// - v1 has no tool_choice: "auto" is the default; "none" leaves the tools out (impossible
//   while tool results are sent, Cohere needs tools with them); "required", a named
//   function and parallel_tool_calls=false cannot be honoured and are refused.
// - v1 tool calls carry no id: ids are made as "call_<generation id>_<n>"; tool messages
//   find their call (name and parameters, which Cohere wants back) by tool_call_id.
// - Tool output: a JSON object or array of objects is sent as is; other text as
//   [{"output": <text>}] (Cohere wants a list of objects).

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, isNull, parseArray, parseObject, valueArr, valueObj, valueString } from "../../json";
import { JsonWriter } from "../json-writer";
import { contentText, objJson, parallelToolCallsOff, valueJson, writeToolCall } from "./native-shared";
import { functionTools } from "./openai-tools";

/** Cohere's rule for tool and parameter names: a-z, A-Z, 0-9 and _, not starting with a digit. */
export function isCohereName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
    const digit = c >= 0x30 && c <= 0x39;
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

/** A serialized piece of the Cohere request, or why it cannot be made. */
export class Translated {
  constructor(
    public json: string,
    public error: string | null,
  ) {}

  static ok(json: string): Translated {
    return new Translated(json, null);
  }
  static fail(error: string): Translated {
    return new Translated("", error);
  }
}

const UNSUPPORTED_KEYWORDS = ["$ref", "anyOf", "oneOf", "allOf", "not", "if"];

/** The Python type name for a JSON Schema (Cohere's documented mapping), or an error naming `at`. */
export function pythonType(schema: JSON.Obj, at: string): Translated {
  for (let i = 0; i < UNSUPPORTED_KEYWORDS.length; i++) {
    const k = unchecked(UNSUPPORTED_KEYWORDS[i]);
    if (schema.has(k)) return Translated.fail(at + ": '" + k + "' cannot be expressed in Cohere parameter_definitions");
  }
  const tv = schema.get("type");
  const type = valueString(tv);
  if (type == null) {
    if (valueArr(tv) != null) return Translated.fail(at + ": a list of types cannot be expressed in Cohere parameter_definitions (one type per parameter)");
    return Translated.fail(at + " needs a 'type' for Cohere parameter_definitions");
  }
  if (type == "string") return Translated.ok("str");
  if (type == "integer") return Translated.ok("int");
  if (type == "number") return Translated.ok("float");
  if (type == "boolean") return Translated.ok("bool");
  if (type == "array") {
    const iv = schema.get("items");
    if (iv == null || isNull(iv)) return Translated.ok("List");
    const items = valueObj(iv);
    if (items == null) return Translated.fail(at + ".items must be a schema object for Cohere parameter_definitions");
    const inner = pythonType(items, at + ".items");
    return inner.error != null ? inner : Translated.ok("List[" + inner.json + "]");
  }
  if (type == "object") {
    const props = getObj(schema, "properties");
    if (props != null && props.keys().length > 0) {
      return Translated.fail(at + ": nested object properties cannot be expressed in Cohere parameter_definitions (make them top-level parameters)");
    }
    const extra = getObj(schema, "additionalProperties");
    if (extra == null) return Translated.ok("Dict");
    const inner = pythonType(extra, at + ".additionalProperties");
    return inner.error != null ? inner : Translated.ok("Dict[str, " + inner.json + "]");
  }
  return Translated.fail(at + ": type '" + type + "' cannot be expressed in Cohere parameter_definitions");
}

/** The description Cohere sees: the schema's own, plus its enum values. */
function describe(schema: JSON.Obj): string | null {
  let d = getString(schema, "description");
  const values = getArr(schema, "enum");
  if (values == null || values.length == 0) return d;
  let list = "";
  for (let i = 0; i < values.length; i++) {
    const v = arrAt(values, i);
    const s = valueString(v);
    if (i > 0) list += ", ";
    list += s != null ? s : valueJson(v);
  }
  const note = "Possible enum values: " + list + ".";
  return d != null && d.length > 0 ? d + " " + note : note;
}

/** A function's `parameters` (JSON Schema of an object) → the `parameter_definitions` object. */
export function parameterDefinitions(params: JSON.Obj, at: string): Translated {
  for (let i = 0; i < UNSUPPORTED_KEYWORDS.length; i++) {
    const k = unchecked(UNSUPPORTED_KEYWORDS[i]);
    if (params.has(k)) return Translated.fail(at + ": '" + k + "' cannot be expressed in Cohere parameter_definitions");
  }
  const type = params.get("type");
  if (type != null && valueString(type) != "object") return Translated.fail(at + " must be a JSON Schema of type 'object' (Cohere takes named parameters)");
  const required = new Set<string>();
  const req = getArr(params, "required");
  if (req != null) {
    for (let i = 0; i < req.length; i++) {
      const s = valueString(arrAt(req, i));
      if (s != null) required.add(s);
    }
  }
  const w = new JsonWriter();
  w.beginObject();
  const props = getObj(params, "properties");
  if (props != null) {
    const names = props.keys();
    for (let i = 0; i < names.length; i++) {
      const name = unchecked(names[i]);
      const pat = at + ".properties." + name;
      if (!isCohereName(name)) return Translated.fail(pat + ": Cohere parameter names may only hold a-z, A-Z, 0-9 and _ and must not start with a digit");
      const schema = valueObj(props.get(name));
      if (schema == null) return Translated.fail(pat + " must be a schema object");
      const t = pythonType(schema, pat);
      if (t.error != null) return t;
      w.key(name).beginObject();
      const d = describe(schema);
      if (d != null) w.fieldString("description", d);
      w.fieldString("type", t.json).fieldBool("required", required.has(name)).endObject();
    }
  }
  w.endObject();
  return Translated.ok(w.out.toString());
}

/** OpenAI `tools` → the Cohere `tools` array: {name, description, parameter_definitions}. */
export function cohereTools(arr: JSON.Arr): Translated {
  const tools = functionTools(arr, "cohere");
  if (tools.error != null) return Translated.fail(tools.error!);
  const w = new JsonWriter();
  w.beginArray();
  for (let i = 0; i < tools.list.length; i++) {
    const at = "tools[" + i.toString() + "]";
    const t = unchecked(tools.list[i]);
    if (!isCohereName(t.name)) return Translated.fail(at + ".function.name '" + t.name + "': Cohere tool names may only hold a-z, A-Z, 0-9 and _ and must not start with a digit");
    // Cohere requires a description; an absent one is sent empty.
    w.beginObject().fieldString("name", t.name).fieldString("description", t.description != null ? t.description! : "");
    if (t.parameters != null) {
      const params = valueObj(t.parameters);
      if (params == null) return Translated.fail(at + ".function.parameters must be a JSON Schema object");
      const defs = parameterDefinitions(params, at + ".function.parameters");
      if (defs.error != null) return defs;
      w.key("parameter_definitions").rawString(defs.json);
    }
    w.endObject();
  }
  w.endArray();
  return Translated.ok(w.out.toString());
}

/** What tool_choice and parallel_tool_calls allow: send the tools or not, or a refusal. */
export class ToolPolicy {
  constructor(
    public send: bool,
    public error: string | null,
  ) {}
}

/** v1 has no tool_choice: see the decisions at the top. `withResults`: the request carries tool_results. */
export function toolPolicy(body: JSON.Obj, withResults: bool): ToolPolicy {
  const tc = body.get("tool_choice");
  if (tc != null && !isNull(tc)) {
    const s = valueString(tc);
    if (s == null) return new ToolPolicy(false, "tool_choice naming a function is not supported by provider cohere: the v1 Chat API cannot force a tool call");
    if (s == "required") return new ToolPolicy(false, "tool_choice 'required' is not supported by provider cohere: the v1 Chat API cannot force a tool call");
    if (s == "none") {
      if (withResults) return new ToolPolicy(false, "tool_choice 'none' is not supported by provider cohere with tool results: Cohere needs the tools with tool_results and cannot forbid further calls");
      return new ToolPolicy(false, null);
    }
    if (s != "auto") return new ToolPolicy(false, "tool_choice '" + s + "' is not one of none, auto, required");
  }
  if (parallelToolCallsOff(body)) return new ToolPolicy(false, "parallel_tool_calls false is not supported by provider cohere: the v1 Chat API cannot limit a turn to one tool call");
  return new ToolPolicy(true, null);
}

/** The tool calls of earlier assistant messages: OpenAI id → Cohere call `{name, parameters}`. */
export class CallRegistry {
  private ids: string[] = [];
  private calls: string[] = [];

  /** Reads an assistant message's tool_calls into a Cohere `tool_calls` array (serialized). */
  read(list: JSON.Arr, at: string): Translated {
    const w = new JsonWriter();
    w.beginArray();
    for (let j = 0; j < list.length; j++) {
      const cat = at + ".tool_calls[" + j.toString() + "]";
      const c = valueObj(arrAt(list, j));
      if (c == null) return Translated.fail(cat + " must be an object");
      const id = getString(c, "id");
      const fn = getObj(c, "function");
      const name = fn != null ? getString(fn, "name") : null;
      if (id == null || name == null) return Translated.fail(cat + " needs an id and function.name");
      const args = getString(fn!, "arguments");
      let params: JSON.Obj | null = new JSON.Obj();
      if (args != null && args.trim().length > 0) params = parseObject(Uint8Array.wrap(String.UTF8.encode(args))).value;
      if (params == null) return Translated.fail(cat + ".function.arguments must be a JSON object");
      const cw = new JsonWriter();
      cw.beginObject().fieldString("name", name!).key("parameters").rawString(objJson(params!)).endObject();
      const call = cw.out.toString();
      this.ids.push(id!);
      this.calls.push(call);
      w.rawString(call);
    }
    w.endArray();
    return Translated.ok(w.out.toString());
  }

  /** The Cohere call for an OpenAI tool_call_id, or null. The latest wins when ids repeat. */
  find(id: string): string | null {
    for (let i = this.ids.length - 1; i >= 0; i--) if (unchecked(this.ids[i]) == id) return unchecked(this.calls[i]);
    return null;
  }
}

/** A tool message's content → Cohere `outputs` (a list of objects). */
export function outputsJson(content: JSON.Value | null): string {
  const text = contentText(content, "");
  const t = text.trim();
  if (t.startsWith("{")) {
    const o = parseObject(Uint8Array.wrap(String.UTF8.encode(t))).value;
    if (o != null) return "[" + objJson(o) + "]";
  } else if (t.startsWith("[")) {
    const a = parseArray(Uint8Array.wrap(String.UTF8.encode(t))).value;
    if (a != null && a.length > 0 && allObjects(a)) return valueJsonArr(a);
  }
  const w = new JsonWriter();
  w.beginArray().beginObject().fieldString("output", text).endObject().endArray();
  return w.out.toString();
}

function allObjects(a: JSON.Arr): bool {
  for (let i = 0; i < a.length; i++) if (valueObj(arrAt(a, i)) == null) return false;
  return true;
}

function valueJsonArr(a: JSON.Arr): string {
  let s = "[";
  for (let i = 0; i < a.length; i++) {
    if (i > 0) s += ",";
    s += valueJson(arrAt(a, i));
  }
  return s + "]";
}

/** The id given to the n-th tool call of a Cohere generation (v1 calls have none). */
export function toolCallId(base: string, n: i32): string {
  return "call_" + base + "_" + n.toString();
}

/** One Cohere call's parameters as OpenAI `arguments` text; null when they are not an object (null/absent read as {}). */
export function argumentsOf(call: JSON.Obj): string | null {
  const p = call.get("parameters");
  if (p == null || isNull(p)) return "{}";
  const o = valueObj(p);
  return o != null ? objJson(o) : null;
}

/**
 * Cohere `tool_calls` [{name, parameters}] → an OpenAI `tool_calls` array (serialized).
 * `first` > -1 adds stream indexes starting there. Error names the bad call.
 */
export function openAiToolCalls(calls: JSON.Arr, idBase: string, first: i32): Translated {
  const w = new JsonWriter();
  w.beginArray();
  for (let i = 0; i < calls.length; i++) {
    const at = "tool_calls[" + i.toString() + "]";
    const c = valueObj(arrAt(calls, i));
    const name = c != null ? getString(c, "name") : null;
    if (c == null || name == null) return Translated.fail(at + " has no name");
    const args = argumentsOf(c);
    if (args == null) return Translated.fail(at + ".parameters is not an object");
    const n = first >= 0 ? first + i : i;
    writeToolCall(w, first >= 0 ? n : -1, toolCallId(idBase, n), name, args);
  }
  w.endArray();
  return Translated.ok(w.out.toString());
}
