// An OpenAI chat request's `tools` and `tool_choice`, read and checked once for the providers
// that translate them into their own form (anthropic.ts, cohere-tools.ts, gemini.ts), so the
// checks and the 400 messages are the same for all of them.

import { JSON } from "json-as";
import { arrAt, getObj, getString, isNull, valueObj, valueString } from "../../json";

/** One `tools[]` entry: a function tool with a name. */
export class FunctionTool {
  constructor(
    public name: string,
    public description: string | null,
    /** `function.parameters`, null when absent or JSON null (not checked to be an object). */
    public parameters: JSON.Value | null,
  ) {}
}

export class FunctionTools {
  list: FunctionTool[] = [];
  /** What is wrong, naming the entry (`tools[2]…`), or null. */
  error: string | null = null;
}

/** `tools[]` as function tools; any other kind of tool is refused for `provider`. */
export function functionTools(tools: JSON.Arr, provider: string): FunctionTools {
  const r = new FunctionTools();
  for (let i = 0; i < tools.length; i++) {
    const at = "tools[" + i.toString() + "]";
    const t = valueObj(arrAt(tools, i));
    if (t == null) {
      r.error = at + " must be an object";
      return r;
    }
    const type = getString(t, "type");
    const fn = getObj(t, "function");
    if ((type != null && type != "function") || fn == null) {
      r.error = at + ": only function tools are supported by provider " + provider;
      return r;
    }
    const name = getString(fn, "name");
    if (name == null) {
      r.error = at + ".function.name must be a string";
      return r;
    }
    const p = fn.get("parameters");
    r.list.push(new FunctionTool(name, getString(fn, "description"), p != null && !isNull(p) ? p : null));
  }
  return r;
}

export enum ToolChoiceKind {
  Absent = 0, // missing or null: the provider's default
  None = 1,
  Auto = 2,
  Required = 3,
  Function = 4, // {"type":"function","function":{"name":…}}: `name` is set
}

export class ToolChoice {
  kind: ToolChoiceKind = ToolChoiceKind.Absent;
  name: string | null = null;
  error: string | null = null;
}

/** `tool_choice`: "none" | "auto" | "required" | {function:{name}}. */
export function toolChoice(body: JSON.Obj): ToolChoice {
  const r = new ToolChoice();
  const tc = body.get("tool_choice");
  if (tc == null || isNull(tc)) return r;
  const s = valueString(tc);
  const o = valueObj(tc);
  if (s != null) {
    if (s == "none") r.kind = ToolChoiceKind.None;
    else if (s == "auto") r.kind = ToolChoiceKind.Auto;
    else if (s == "required") r.kind = ToolChoiceKind.Required;
    else r.error = "tool_choice '" + s + "' is not one of none, auto, required";
  } else if (o != null) {
    const fn = getObj(o, "function");
    r.name = fn != null ? getString(fn, "name") : null;
    if (r.name == null) r.error = "tool_choice.function.name must be a string";
    else r.kind = ToolChoiceKind.Function;
  } else {
    r.error = "tool_choice must be a string or an object";
  }
  return r;
}
