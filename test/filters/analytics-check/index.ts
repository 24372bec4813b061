// A test-only filter that writes analytics facts as the gateway's producers do, from the
// scenario of its configuration that the request header x-scenario names, in on_request_headers: each record through lib/analytics (the individual
// `ai.*` keys and `ai.facts`), and content-safety blocks and rate-limit denials as
// ai-azure-content-safety and ai-rate-limiting-advanced write them (their key and `ai.facts`).
// With "keys_only" it then empties `ai.facts`, so ai-metrics reads the individual keys: the
// test compares the series of the two reads. It also checks each record's `ai.log` JSON
// (Analytics.toJson) byte for byte against a JsonWriter rendering of the same record, and logs
// an error on a difference.
//   {"keys_only": false, "scenarios": [{"records": [{"prefix": "ai.", "log_name": "proxy", "provider": "openai", "request_model": "m",
//     "response_model": "", "request_mode": "oneshot", "prompt_tokens": 1, "completion_tokens": 2,
//     "total_tokens": 3, "latency_ms": 5, "cost": 0.1, "status": 200, "error_type": "",
//     "operation": "", "operation_from_path": false}, …],
//    "safety_input": "Hate,Violence", "safety_output": "", "rate_limited": "openai"}, …]}
export * from "../../../lib/runtime/exports";
import { JSON } from "json-as";
import { Action, HttpContext, RootContext, getProperty, logError, registerRootContext } from "../../../lib/runtime";
import { JsonWriter } from "../../../lib/llm/json-writer";
import { Analytics, AnalyticsKeys } from "../../../lib/analytics/record";
import { count, FACT_RATE_LIMITED, FACT_RECORD, FACT_SAFETY_INPUT, FACT_SAFETY_OUTPUT, FACTS_KEY, FactsReader, operationOfPath, parseCostNano, putNamesFact, R_COMPLETION, R_COST, R_LABELS, R_LATENCY, R_PROMPT, R_STATUS, R_TOTAL } from "../../../lib/analytics/facts";
import { arrAt, getArr, getBool, getNumber, getString, parseObject, valueObj } from "../../../lib/json/read";

function str(o: JSON.Obj, key: string): string {
  const s = getString(o, key);
  return s != null ? s : "";
}

function int(o: JSON.Obj, key: string, fallback: i64): i64 {
  const n = getNumber(o, key);
  return isNaN(n) ? fallback : <i64>n;
}

function analytics(o: JSON.Obj): Analytics {
  const a = new Analytics();
  a.keys = new AnalyticsKeys(str(o, "prefix"), str(o, "log_name"));
  a.provider = str(o, "provider");
  a.requestModel = str(o, "request_model");
  a.responseModel = str(o, "response_model");
  a.requestMode = str(o, "request_mode");
  a.usage.promptTokens = int(o, "prompt_tokens", -1);
  a.usage.completionTokens = int(o, "completion_tokens", -1);
  a.usage.totalTokens = int(o, "total_tokens", -1);
  a.latencyMs = int(o, "latency_ms", 0);
  const cost = getNumber(o, "cost");
  a.cost = isNaN(cost) ? 0 : cost;
  a.status = <u32>int(o, "status", 0);
  a.errorType = str(o, "error_type");
  a.pluginId = str(o, "plugin_id");
  a.target = str(o, "target");
  a.tries = <i32>int(o, "tries", 0);
  a.azureInstance = str(o, "azure_instance");
  a.azureDeployment = str(o, "azure_deployment");
  a.azureApiVersion = str(o, "azure_api_version");
  a.timeToFirstTokenMs = int(o, "time_to_first_token", -1);
  a.requestPayload = getString(o, "request_payload");
  a.responsePayload = getString(o, "response_payload");
  a.operation = str(o, "operation");
  return a;
}

/** The `ai` record through JsonWriter, the way toJson wrote it before its fragments. */
function referenceJson(a: Analytics, withPayload: bool): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().key(a.keys.logName).beginObject();
  w.key("meta").beginObject();
  w.fieldString("plugin_id", a.pluginId);
  w.fieldString("provider_name", a.provider.length > 0 ? a.provider : "UNSPECIFIED");
  w.fieldString("request_model", a.requestModel);
  w.fieldString("response_model", a.responseModel.length > 0 ? a.responseModel : a.requestModel);
  refInt(w, "llm_latency", a.latencyMs);
  w.fieldString("request_mode", a.requestMode);
  if (a.tries > 0) {
    w.fieldString("target", a.target);
    refInt(w, "tries", a.tries);
  }
  if (a.azureInstance.length > 0) {
    w.fieldString("azure_instance_id", a.azureInstance);
    w.fieldString("azure_deployment_id", a.azureDeployment);
    w.fieldString("azure_api_version", a.azureApiVersion);
  }
  w.endObject();
  const u = a.usage;
  w.key("usage").beginObject();
  refInt(w, "prompt_tokens", max<i64>(u.promptTokens, 0));
  refInt(w, "completion_tokens", max<i64>(u.completionTokens, 0));
  refInt(w, "total_tokens", max<i64>(u.totalTokens, 0));
  w.fieldNumber("time_per_token", a.timePerToken);
  w.fieldNumber("cost", a.cost);
  if (a.timeToFirstTokenMs >= 0) refInt(w, "time_to_first_token", a.timeToFirstTokenMs);
  w.endObject();
  if (withPayload) {
    w.key("payload").beginObject();
    w.fieldStringOrNull("request", a.requestPayload);
    w.fieldStringOrNull("response", a.responsePayload);
    w.endObject();
  }
  w.endObject().endObject();
  return w.toBytes();
}

/** An integer member through toString() (independent of ByteBuilder.int, which toJson uses). */
function refInt(w: JsonWriter, k: string, v: i64): void {
  w.key(k).rawString(v.toString());
}

/** numberText as write() had it: toString() of the integral value, else of the f64. */
function refNumberText(v: f64): string {
  if (!isFinite(v)) return "0";
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return (<i64>v).toString();
  return v.toString();
}

/**
 * Logs an error when a key write() set differs from the string setPropertyString wrote
 * before write() encoded its values into one reused buffer.
 */
function checkKeys(a: Analytics): void {
  const p = a.keys.prefix;
  const u = a.usage;
  const rm = a.responseModel.length > 0 ? a.responseModel : a.requestModel;
  const want: string[] = [a.provider, a.requestModel, rm, a.requestMode, max<i64>(u.promptTokens, 0).toString(), max<i64>(u.completionTokens, 0).toString(), max<i64>(u.totalTokens, 0).toString(), a.latencyMs.toString(), refNumberText(a.timePerToken), refNumberText(a.cost), a.status.toString()];
  const names: string[] = ["provider_name", "request_model", "response_model", "request_mode", "prompt_tokens", "completion_tokens", "total_tokens", "llm_latency", "time_per_token", "cost", "status"];
  if (a.errorType.length > 0) {
    want.push(a.errorType);
    names.push("error_type");
  }
  for (let i = 0; i < names.length; i++) {
    const got = getProperty([p + names[i]]);
    const w = String.UTF8.encode(want[i]);
    if (got != null && got.byteLength == w.byteLength && memory.compare(changetype<usize>(got), changetype<usize>(w), <usize>w.byteLength) == 0) continue;
    logError("key " + p + names[i] + " differs: " + (got != null ? String.UTF8.decode(got) : "(absent)") + " vs " + want[i]);
  }
  if (a.tries > 0) {
    const t = getProperty(["ai.tries"]);
    if (t == null || String.UTF8.decode(t) != a.tries.toString()) logError("key ai.tries differs");
    const g = getProperty(["ai.target"]);
    if (g == null || String.UTF8.decode(g) != a.target) logError("key ai.target differs");
  }
}

/**
 * Logs an error when the record's entry in `ai.facts` differs from the payload write() built
 * before it wrote into one reused buffer: the numbers, cost parsed from numberText's string, then
 * each label field through String.UTF8.encode.
 */
function checkFacts(a: Analytics): void {
  const u = a.usage;
  const prompt = max<i64>(u.promptTokens, 0);
  const completion = max<i64>(u.completionTokens, 0);
  const total = max<i64>(u.totalTokens, 0);
  const labels: string[] = [a.provider, a.requestModel, a.responseModel.length > 0 ? a.responseModel : a.requestModel, a.requestMode, "", "", "", "", "", a.errorType, a.operation];
  const enc = new Array<ArrayBuffer>(labels.length);
  let size = R_LABELS;
  for (let i = 0; i < labels.length; i++) size += 4 + (enc[i] = String.UTF8.encode(labels[i])).byteLength;
  const want = new ArrayBuffer(size);
  const p = changetype<usize>(want);
  store<i64>(p + R_PROMPT, count(prompt));
  store<i64>(p + R_COMPLETION, count(completion));
  store<i64>(p + R_TOTAL, count(total));
  store<i64>(p + R_LATENCY, count(a.latencyMs));
  store<u64>(p + R_COST, parseCostNano(refNumberText(a.cost)));
  store<i64>(p + R_STATUS, <i64>a.status);
  let q = p + R_LABELS;
  for (let i = 0; i < enc.length; i++) {
    store<u32>(q, enc[i].byteLength);
    memory.copy(q + 4, changetype<usize>(enc[i]), enc[i].byteLength);
    q += 4 + enc[i].byteLength;
  }
  const v = getProperty([FACTS_KEY]);
  const id = String.UTF8.encode(a.keys.prefix);
  const r = new FactsReader(v != null ? v : new ArrayBuffer(0));
  let found = 0;
  while (r.next()) {
    if (r.kind != FACT_RECORD || r.idLen != <u32>id.byteLength || memory.compare(r.idAt, changetype<usize>(id), id.byteLength) != 0) continue;
    found++;
    if (r.len != <u32>size || memory.compare(r.at, p, size) != 0) logError("facts of " + a.keys.prefix + " differ");
  }
  if (!r.ok || found != 1) logError("facts of " + a.keys.prefix + ": " + found.toString() + " entries, well-formed " + r.ok.toString());
}

/** Logs an error when the `ai.log` write() set differs from toJson (which checkJson checks). */
function checkLog(a: Analytics, withPayload: bool): void {
  const got = getProperty([a.keys.prefix + "log"]);
  const want = a.toJson(withPayload);
  if (got != null && got.byteLength == want.byteLength && memory.compare(changetype<usize>(got), changetype<usize>(want), <usize>want.byteLength) == 0) return;
  logError("ai.log of " + a.keys.prefix + " differs: " + (got != null ? String.UTF8.decode(got) : "(absent)") + " vs " + String.UTF8.decode(want));
}

/** Logs an error when toJson and the reference differ. */
function checkJson(a: Analytics, withPayload: bool): void {
  const fast = Uint8Array.wrap(a.toJson(withPayload));
  const ref = referenceJson(a, withPayload);
  if (fast.length == ref.length && memory.compare(fast.dataStart, ref.dataStart, <usize>ref.length) == 0) return;
  logError("toJson differs: " + String.UTF8.decode(fast.buffer) + " vs " + String.UTF8.decode(ref.buffer));
}

class Writer extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: JSON.Obj,
  ) {
    super(id, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const scenarios = getArr(this.config, "scenarios");
    const n = this.getRequestHeader("x-scenario");
    if (scenarios == null || n == null) return Action.Continue;
    const c = valueObj(arrAt(scenarios, I32.parseInt(n)));
    if (c == null) return Action.Continue;
    const records = getArr(c, "records");
    if (records != null) {
      for (let i = 0; i < records.length; i++) {
        const o = valueObj(arrAt(records, i));
        if (o == null) continue;
        const a = analytics(o);
        // As ai-proxy records it: the operation of the :path the request goes on with.
        if (getBool(o, "operation_from_path", false)) {
          const p = this.getRequestHeader(":path");
          a.operation = operationOfPath(p != null ? p : "");
        }
        checkJson(a, false);
        checkJson(a, true);
        a.write(this, getBool(o, "log_statistics", false), getBool(o, "log_payloads", false));
        checkKeys(a);
        checkFacts(a);
        if (getBool(o, "log_statistics", false)) checkLog(a, getBool(o, "log_payloads", false));
      }
    }
    this.names("ai.proxy.azure-content-safety.input_block_categories", FACT_SAFETY_INPUT, getString(c, "safety_input"));
    this.names("ai.proxy.azure-content-safety.output_block_categories", FACT_SAFETY_OUTPUT, getString(c, "safety_output"));
    this.names("ai.rate_limited", FACT_RATE_LIMITED, getString(c, "rate_limited"));
    if (getBool(this.config, "keys_only", false)) this.setProperty([FACTS_KEY], new ArrayBuffer(0));
    return Action.Continue;
  }

  private names(key: string, kind: u8, value: string | null): void {
    if (value == null) return;
    this.setPropertyString([key], value);
    putNamesFact(this, kind, value);
  }
}

class WriterRoot extends RootContext {
  config: JSON.Obj = new JSON.Obj();

  onConfigure(bytes: Uint8Array): bool {
    const p = parseObject(bytes);
    if (p.value == null) return false;
    this.config = p.value!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new Writer(contextId, this, this.config);
  }
}

registerRootContext("", (id: u32): RootContext => new WriterRoot(id));
