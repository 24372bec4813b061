// Kong's model templating: `model.name` and the string `model.options` may be `$(headers.X)`
// or `$(query_params.X)`, resolved per request (Kong OSS shared.lua merge_model_options).
//
// Kong's semantics, kept: the first `$(…)` names `<source>.<key>` (exactly one dot); the
// resolved value replaces the whole field; a missing value is a 400 with Kong's message
// (`'<source>', key '<key>' was not provided` for model.name, `<source> key <key> was not
// provided` for options); headers match case-insensitively with `_` standing for `-`;
// query parameters are URL-decoded and the first occurrence wins.
// Deliberate differences (README "Templates"): what can only ever fail is refused at load
// (bad syntax, unknown source, `uri_captures`, text around the template that Kong would
// silently drop); an empty or value-less parameter counts as not provided; resolved values
// are checked (no control characters; host labels, paths and URLs stay well formed).

import { ModelConfig, ModelOptions } from "../provider";
import { encodePath, isDotSegment, percentEncode, validUpstreamUrl } from "./url";

export const SOURCE_HEADERS: i32 = 0;
export const SOURCE_QUERY: i32 = 1;

/** One `$(source.key)` template, parsed at load. */
export class Template {
  constructor(
    /** The config field, e.g. "model.options.azure_deployment_id". */
    public field: string,
    public source: i32,
    /** The key as written. */
    public key: string,
    /** headers: the lower-case name to look up first (`_` → `-`), then `alt` when not "". */
    public lookup: string,
    public alt: string,
  ) {}

  get sourceName(): string {
    return this.source == SOURCE_HEADERS ? "headers" : "query_params";
  }

  /** "(from headers 'x-model')": how a refusal names where the value came from. */
  get origin(): string {
    return "(from " + this.sourceName + " '" + this.key + "')";
  }
}

export class TemplateParse {
  constructor(
    /** null with no error: the value is a literal. */
    public template: Template | null,
    public error: string | null,
  ) {}
}

const USAGE = "a template is $(headers.<name>) or $(query_params.<name>)";

/** Parses a config string. Literal values (no `$(`) give a null template and no error. */
export function parseTemplate(field: string, value: string): TemplateParse {
  const open = value.indexOf("$(");
  if (open < 0) return new TemplateParse(null, null);
  const pre = "field '" + field + "': ";
  const close = value.indexOf(")", open + 2);
  if (close < 0) return new TemplateParse(null, pre + "cannot parse expression '" + value + "': the template has no closing ')' (" + USAGE + ")");
  if (open != 0 || close != value.length - 1) {
    // Kong replaces the whole value with the first template's result: text around it (or a
    // second template) would be dropped without a word, so such a value is refused.
    return new TemplateParse(null, pre + "a template must be the whole value (got '" + value + "'): Kong replaces the whole field with the first template's value, so the rest would be dropped");
  }
  const inner = value.substring(2, close);
  const dot = inner.indexOf(".");
  if (dot < 0 || inner.indexOf(".", dot + 1) >= 0) return new TemplateParse(null, pre + "cannot parse expression for field '" + value + "' (" + USAGE + ")");
  const source = inner.substring(0, dot);
  const key = inner.substring(dot + 1);
  if (source == "uri_captures") {
    return new TemplateParse(null, pre + "$(uri_captures." + key + ") is not available under Envoy: a wasm filter cannot see a route's named regex captures; send the value as a header ($(headers.<name>)) or a query parameter ($(query_params.<name>)) instead");
  }
  if (source != "headers" && source != "query_params") return new TemplateParse(null, pre + "source '" + source + "' is not supported (" + USAGE + ")");
  if (key.length == 0) return new TemplateParse(null, pre + "cannot parse expression for field '" + value + "': the key is empty (" + USAGE + ")");
  if (source == "headers") {
    if (!isToken(key)) return new TemplateParse(null, pre + "'" + key + "' is not a valid header name");
    const low = key.toLowerCase();
    const dashed = low.replaceAll("_", "-");
    // nginx (Kong) matches a header whatever its mix of '-' and '_'; look up both spellings.
    const under = low.replaceAll("-", "_");
    return new TemplateParse(new Template(field, SOURCE_HEADERS, key, dashed, under != dashed ? under : ""), null);
  }
  return new TemplateParse(new Template(field, SOURCE_QUERY, key, key, ""), null);
}

function isToken(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = c | 0x20;
    const ok = (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e || c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b || c == 0x5e || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return s.length > 0;
}

/** The templated fields of `model`, parsed at load (null = literal). */
export class ModelTemplates {
  name: Template | null = null;
  upstreamUrl: Template | null = null;
  upstreamPath: Template | null = null;
  anthropicVersion: Template | null = null;
  azureInstance: Template | null = null;
  azureDeploymentId: Template | null = null;
  azureApiVersion: Template | null = null;

  /** Some option is templated: the request needs its own provider. */
  get inOptions(): bool {
    return this.inTarget || this.anthropicVersion != null;
  }

  /** Some field feeding the upstream :authority/:path is templated: the target is per request. */
  get inTarget(): bool {
    return this.upstreamUrl != null || this.upstreamPath != null || this.azureInstance != null || this.azureDeploymentId != null || this.azureApiVersion != null;
  }

  get any(): bool {
    return this.name != null || this.inOptions;
  }
}

/** Where resolution reads the request (the filter implements it over the ABI). */
export abstract class RequestValues {
  /** The first value of a request header (lower-case name), or null. */
  abstract header(name: string): string | null;
  /** The first value of a query parameter, decoded; null when absent or without '='. */
  abstract query(name: string): string | null;
}

export class Resolved {
  /** The request's model: resolved values (decoded), "" for those not reached after an error. */
  model: ModelConfig = new ModelConfig();
  /** The same with path and query values percent-encoded, for Provider.target(); null when no target field is templated. */
  targetModel: ModelConfig | null = null;
  /** A 400 message, or null. */
  error: string | null = null;
}

/** A copy of `o` (keep in step with ModelOptions' fields). */
function copyOptions(o: ModelOptions): ModelOptions {
  const c = new ModelOptions();
  c.maxTokens = o.maxTokens;
  c.temperature = o.temperature;
  c.topP = o.topP;
  c.topK = o.topK;
  c.upstreamUrl = o.upstreamUrl;
  c.upstreamPath = o.upstreamPath;
  c.anthropicVersion = o.anthropicVersion;
  c.azureInstance = o.azureInstance;
  c.azureDeploymentId = o.azureDeploymentId;
  c.azureApiVersion = o.azureApiVersion;
  c.mistralFormat = o.mistralFormat;
  c.llama2Format = o.llama2Format;
  c.inputCost = o.inputCost;
  c.outputCost = o.outputCost;
  return c;
}

function modelWith(base: ModelConfig, name: string, options: ModelOptions): ModelConfig {
  const m = new ModelConfig();
  m.provider = base.provider;
  m.name = name;
  m.options = options;
  return m;
}

/** Reads one template's value; sets `r.error` (Kong's message) and returns "" when missing or unsafe. */
function lookup(t: Template, src: RequestValues, r: Resolved): string {
  if (r.error != null) return "";
  let v: string | null = null;
  if (t.source == SOURCE_HEADERS) {
    v = src.header(t.lookup);
    if (v == null && t.alt.length > 0) v = src.header(t.alt);
  } else {
    v = src.query(t.lookup);
  }
  if (v == null || v.length == 0) {
    r.error = t.field == "model.name" ? "'" + t.sourceName + "', key '" + t.key + "' was not provided" : t.sourceName + " key " + t.key + " was not provided";
    return "";
  }
  const s = v!;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f) {
      r.error = t.field + " " + t.origin + " must not contain control characters (CR, LF, NUL, …)";
      return "";
    }
  }
  return s;
}

function fail(r: Resolved, t: Template, why: string): string {
  if (r.error == null) r.error = t.field + " " + t.origin + " " + why;
  return "";
}

/** An Azure resource name: it becomes the first label of the upstream host. */
function isHostLabel(s: string): bool {
  if (s.length == 0 || s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x7a) || c == 0x2d)) return false;
  }
  return s.charCodeAt(0) != 0x2d && s.charCodeAt(s.length - 1) != 0x2d;
}

function hasDotSegment(path: string): bool {
  const segs = path.split("/");
  for (let i = 0; i < segs.length; i++) if (isDotSegment(unchecked(segs[i]))) return true;
  return false;
}

/**
 * Resolves `base`'s templated fields from the request. Fields are done in a fixed order
 * (model.name first, as Kong) and the first failure wins.
 */
export function resolveModel(base: ModelConfig, t: ModelTemplates, src: RequestValues): Resolved {
  const r = new Resolved();
  let name = base.name;
  const n = t.name;
  if (n != null) name = lookup(n, src, r);
  if (!t.inOptions) {
    r.model = modelWith(base, name, base.options);
    return r;
  }
  const o = copyOptions(base.options);
  const e = copyOptions(base.options); // what Provider.target() sees: encoded
  let x = t.upstreamUrl;
  if (x != null) {
    const v = lookup(x, src, r);
    o.upstreamUrl = v;
    e.upstreamUrl = v.length > 0 && !validUpstreamUrl(v) ? fail(r, x, "is not a valid http(s) URL (host[:port], no '#', no '.' or '..' segments, '%' only as %XX)") : v;
  }
  x = t.upstreamPath;
  if (x != null) {
    const v = lookup(x, src, r);
    o.upstreamPath = v;
    if (v.length > 0 && !v.startsWith("/")) e.upstreamPath = fail(r, x, "must start with /");
    else if (hasDotSegment(v)) e.upstreamPath = fail(r, x, "must not contain '.' or '..' segments");
    else e.upstreamPath = encodePath(v);
  }
  x = t.anthropicVersion;
  if (x != null) {
    const v = lookup(x, src, r);
    o.anthropicVersion = v;
    e.anthropicVersion = v;
  }
  x = t.azureInstance;
  if (x != null) {
    const v = lookup(x, src, r);
    o.azureInstance = v;
    e.azureInstance = v.length > 0 && !isHostLabel(v) ? fail(r, x, "must be an Azure resource name (letters, digits and inner '-', at most 63)") : v;
  }
  x = t.azureDeploymentId;
  if (x != null) {
    const v = lookup(x, src, r);
    o.azureDeploymentId = v;
    e.azureDeploymentId = v == "." || v == ".." ? fail(r, x, "must not be '.' or '..'") : percentEncode(v);
  }
  x = t.azureApiVersion;
  if (x != null) {
    const v = lookup(x, src, r);
    o.azureApiVersion = v;
    e.azureApiVersion = percentEncode(v);
  }
  r.model = modelWith(base, name, o);
  if (t.inTarget) r.targetModel = modelWith(base, name, e);
  return r;
}

/**
 * The configuration with harmless stand-ins for the templated target fields, so the literal
 * parts can be checked at load (a bad static upstream_url is still refused there).
 */
export function sampleModel(base: ModelConfig, t: ModelTemplates): ModelConfig {
  const o = copyOptions(base.options);
  if (t.upstreamUrl != null) o.upstreamUrl = "http://template.invalid";
  if (t.upstreamPath != null) o.upstreamPath = "/template";
  if (t.anthropicVersion != null) o.anthropicVersion = "template";
  if (t.azureInstance != null) o.azureInstance = "template";
  if (t.azureDeploymentId != null) o.azureDeploymentId = "template";
  if (t.azureApiVersion != null) o.azureApiVersion = "template";
  return modelWith(base, t.name != null ? "template" : base.name, o);
}
