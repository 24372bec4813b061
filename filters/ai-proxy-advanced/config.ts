// ai-proxy-advanced configuration: Kong's fields, names and defaults (reference §3.1). Each
// target is an ai-proxy LLM record (readLlmRecord with the "targets[N]." prefix) plus weight
// and description; the balancer block drives the algorithm and the failover rules.

import { JSON } from "json-as";
import { parseObject, valueArr, valueObj, valueString, isNull } from "../../lib/json";
import { Provider, RouteType, UNSET, UpstreamTarget } from "../../lib/llm/provider";
import { AiProxyConfig, checkKeys, ConfigErrors, int, obj, readCommonFields, readLlmRecord, str } from "../../lib/llm/route/config";
import { prepareTarget } from "../../lib/llm/route/proxy-stream";
import { fnv32 } from "./state";

export enum Algorithm {
  RoundRobin = 0,
  Priority = 1,
  LowestLatency = 2,
  LowestUsage = 3,
  ConsistentHashing = 4,
  LeastConnections = 5,
}

// failover_criteria, as bits.
export const F_ERROR: u32 = 1;
export const F_TIMEOUT: u32 = 2;
export const F_INVALID_HEADER: u32 = 4;
export const F_500: u32 = 8;
export const F_502: u32 = 16;
export const F_503: u32 = 32;
export const F_504: u32 = 64;
export const F_403: u32 = 128;
export const F_404: u32 = 256;
export const F_429: u32 = 512;
export const F_NON_IDEMPOTENT: u32 = 1024;

const CRITERIA = ["error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504", "http_403", "http_404", "http_429", "non_idempotent"];

export class Target {
  cfg: AiProxyConfig = new AiProxyConfig();
  provider: Provider | null = null;
  upstream: UpstreamTarget | null = null;
  weight: i32 = 100;
  description: string = "";
  index: i32 = 0;

  /** How the record names it: the description, else targets[N]. */
  label(): string {
    return this.description.length > 0 ? this.description : "targets[" + this.index.toString() + "]";
  }
}

export class Balancer {
  algorithm: Algorithm = Algorithm.RoundRobin;
  retries: i32 = 5;
  failover: u32 = F_ERROR | F_TIMEOUT;
  connectTimeout: i64 = 60000;
  readTimeout: i64 = 60000;
  writeTimeout: i64 = 60000;
  hashOnHeader: string = "x-kong-llm-request-id";
  slots: i32 = 10000;
  /** true: e2e latency; false: tpot (ms per output token). */
  latencyE2e: bool = false;
  /** total-tokens, prompt-tokens, completion-tokens, cost */
  tokensCount: string = "total-tokens";
  maxFails: i32 = 0;
  failTimeout: i64 = 10000;
}

export class AdvancedConfig {
  targets: Target[] = [];
  balancer: Balancer = new Balancer();
}

/**
 * What identifies this target list for the shared balancer state: each target's provider,
 * model, upstream and weight, and the algorithm (JSON layout and credentials left out).
 */
export function stateKey(c: AdvancedConfig): string {
  let k = c.balancer.algorithm.toString();
  for (let i = 0; i < c.targets.length; i++) {
    const t = c.targets[i];
    const u = t.upstream;
    k += "|" + t.cfg.model.provider + "/" + t.cfg.model.name + "@" + (u != null ? u.authority + u.path : "") + "*" + t.weight.toString();
  }
  return fnv32(k).toString(16);
}

export class AdvancedResult {
  constructor(
    public config: AdvancedConfig | null,
    public error: string | null,
  ) {}
}

const TOP_KEYS = ["targets", "balancer", "response_streaming", "max_request_body_size", "model_name_header", "llm_format", "genai_category", "embeddings", "vectordb"];
const TOP_UNSUPPORTED = ["acls"];
const TARGET_KEYS = ["route_type", "model", "auth", "logging", "weight", "description", "metadata"];
const BALANCER_KEYS = ["algorithm", "retries", "failover_criteria", "connect_timeout", "read_timeout", "write_timeout", "hash_on_header", "slots", "latency_strategy", "tokens_count_strategy", "max_fails", "fail_timeout"];

export function parseAdvancedConfig(bytes: Uint8Array, env: Map<string, string>): AdvancedResult {
  if (bytes.length == 0) return new AdvancedResult(null, "field 'targets' is required (the configuration is empty)");
  const p = parseObject(bytes);
  if (p.value == null) return new AdvancedResult(null, "configuration is not a valid JSON object (use google.protobuf.StringValue with JSON text): " + p.error!);
  const root = p.value!;
  const e = new ConfigErrors();
  const c = new AdvancedConfig();
  checkKeys(root, "", TOP_KEYS, TOP_UNSUPPORTED, e);

  // Top-level fields every target shares (ai-proxy's, read once here).
  const common = new AiProxyConfig();
  readCommonFields(root, common, e);

  readBalancer(obj(root, "balancer", "balancer", e), c.balancer, e);
  if (c.balancer.algorithm == Algorithm.RoundRobin && root.has("embeddings") && !isNull(root.get("embeddings")!)) e.set("field 'embeddings' is only used by balancer.algorithm semantic");

  const tv = root.get("targets");
  const list = tv != null ? valueArr(tv) : null;
  if (tv == null || isNull(tv)) e.set("field 'targets' is required");
  else if (list == null) e.set("field 'targets' must be an array");
  else if (list.length == 0) e.set("field 'targets' must have at least one target");
  else {
    for (let i = 0; i < list.length; i++) {
      const prefix = "targets[" + i.toString() + "].";
      const to = valueObj(list[i]);
      if (to == null) {
        e.set("field 'targets[" + i.toString() + "]' must be an object");
        continue;
      }
      checkKeys(to, prefix, TARGET_KEYS, [], e);
      const t = new Target();
      t.index = i;
      const tc = t.cfg;
      tc.responseStreaming = common.responseStreaming;
      tc.modelNameHeader = common.modelNameHeader;
      tc.targetModelWins = true;
      tc.maxRequestBodySize = common.maxRequestBodySize;
      readLlmRecord(to, prefix, env, tc, e);
      const w = int(to, "weight", prefix + "weight", 1, 65535, e);
      if (w != UNSET) t.weight = <i32>w;
      t.description = str(to, "description", prefix + "description", e);
      const mv = to.get("metadata");
      if (mv != null && !isNull(mv) && valueObj(mv) == null) e.set("field '" + prefix + "metadata' must be an object");
      if (e.msg == null) {
        if (tc.templates != null) e.set("field '" + prefix + "model' cannot use $(headers.X)/$(query_params.X) templates in ai-proxy-advanced: each target is fixed");
        else if (i > 0 && tc.route != c.targets[0].cfg.route) e.set("field '" + prefix + "route_type' must be the same as targets[0].route_type");
        else if (tc.route == RouteType.Preserve) e.set("field '" + prefix + "route_type' cannot be preserve: a failover changes the provider, and with it the format");
        else {
          const pt = prepareTarget(tc, prefix);
          if (pt.error != null) e.set(pt.error!);
          t.provider = pt.provider;
          t.upstream = pt.target;
        }
      }
      c.targets.push(t);
    }
  }
  if (e.msg != null) return new AdvancedResult(null, e.msg);
  return new AdvancedResult(c, null);
}

function readBalancer(b: JSON.Obj | null, out: Balancer, e: ConfigErrors): void {
  if (b == null) return;
  checkKeys(b, "balancer.", BALANCER_KEYS, [], e);
  const a = str(b, "algorithm", "balancer.algorithm", e);
  if (a == "round-robin" || a.length == 0) out.algorithm = Algorithm.RoundRobin;
  else if (a == "priority") out.algorithm = Algorithm.Priority;
  else if (a == "lowest-latency") out.algorithm = Algorithm.LowestLatency;
  else if (a == "lowest-usage") out.algorithm = Algorithm.LowestUsage;
  else if (a == "consistent-hashing") out.algorithm = Algorithm.ConsistentHashing;
  else if (a == "least-connections") out.algorithm = Algorithm.LeastConnections;
  else if (a == "semantic") e.set("field 'balancer.algorithm' semantic is not supported: it needs an embeddings model and a vector database, which this gateway does not have yet");
  else e.set("field 'balancer.algorithm' must be one of round-robin, priority, lowest-latency, lowest-usage, consistent-hashing, least-connections (got '" + a + "')");
  const r = int(b, "retries", "balancer.retries", 0, 32767, e);
  if (r != UNSET) out.retries = <i32>r;
  const fv = b.get("failover_criteria");
  if (fv != null && !isNull(fv)) {
    const arr = valueArr(fv);
    if (arr == null) e.set("field 'balancer.failover_criteria' must be an array");
    else {
      let bits: u32 = 0;
      for (let i = 0; i < arr.length; i++) {
        const s = valueString(arr[i]);
        const k = s != null ? CRITERIA.indexOf(s) : -1;
        if (k < 0) {
          e.set("field 'balancer.failover_criteria[" + i.toString() + "]' must be one of " + CRITERIA.join(", "));
          continue;
        }
        bits |= (<u32>1) << <u32>k;
      }
      out.failover = bits;
    }
  }
  const ct = int(b, "connect_timeout", "balancer.connect_timeout", 1, 2147483646, e);
  if (ct != UNSET) out.connectTimeout = ct;
  const rt = int(b, "read_timeout", "balancer.read_timeout", 1, 2147483646, e);
  if (rt != UNSET) out.readTimeout = rt;
  const wt = int(b, "write_timeout", "balancer.write_timeout", 1, 2147483646, e);
  if (wt != UNSET) out.writeTimeout = wt;
  const h = str(b, "hash_on_header", "balancer.hash_on_header", e);
  if (h.length > 0) out.hashOnHeader = h.toLowerCase();
  const sl = int(b, "slots", "balancer.slots", 10, 65536, e);
  if (sl != UNSET) out.slots = <i32>sl;
  const ls = str(b, "latency_strategy", "balancer.latency_strategy", e);
  if (ls == "e2e") out.latencyE2e = true;
  else if (ls.length > 0 && ls != "tpot") e.set("field 'balancer.latency_strategy' must be tpot or e2e");
  const tcs = str(b, "tokens_count_strategy", "balancer.tokens_count_strategy", e);
  if (tcs == "llm-accuracy") e.set("field 'balancer.tokens_count_strategy' llm-accuracy is not supported: it needs ai-llm-as-judge");
  else if (tcs.length > 0 && tcs != "total-tokens" && tcs != "prompt-tokens" && tcs != "completion-tokens" && tcs != "cost") e.set("field 'balancer.tokens_count_strategy' must be one of total-tokens, prompt-tokens, completion-tokens, cost");
  else if (tcs.length > 0) out.tokensCount = tcs;
  const mf = int(b, "max_fails", "balancer.max_fails", 0, 2147483646, e);
  if (mf != UNSET) out.maxFails = <i32>mf;
  const ft = int(b, "fail_timeout", "balancer.fail_timeout", 1, 2147483646, e);
  if (ft != UNSET) out.failTimeout = ft;
}
