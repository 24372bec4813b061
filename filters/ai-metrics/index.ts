// ai-metrics: Kong's AI Prometheus metrics and the OpenTelemetry GenAI client histograms as
// Envoy stats. It reads ai-proxy's (and the transformers' LLM calls') per-request facts from filter state in on_log (ai-proxy
// writes them when the response completes, or in its own on_log for a stream cut short, so
// this filter goes after ai-proxy in the chain) and touches no request or response data.
// The facts come packed in `ai.facts` (lib/analytics/facts.ts), one property read; a stream
// without it (a producer that writes only the individual keys) is read key by key.

// Only the callbacks this filter uses: Envoy (proxy-wasm cpp-host, ContextBase::onRequestHeaders
// and the rest) calls no export a module lacks, so a request costs no header or body callbacks.
// Nor proxy_on_done (no context here overrides onDone, and without the export cpp-host's
// ContextBase::onDone answers true, as the SDK's default would), nor proxy_on_delete: see
// proxy_on_log below.
export { malloc, proxy_abi_version_0_2_1, proxy_on_context_create, proxy_on_vm_start, proxy_on_configure } from "../../lib/runtime/exports";
import { proxy_on_log as onLogOf } from "../../lib/runtime/exports";
import { removeStream } from "../../lib/runtime/state";
import { HttpContext, RootContext, logError, registerRootContext } from "../../lib/runtime";
import { AiMetricsConfig, parseConfig } from "./config";
import { AiRecord, countsFromFacts, readRecord, RECORDS } from "./record";
import { seriesFor, seriesForFacts } from "./series-cache";
import { countBlocks, emitSafetyBlocks } from "./safety";
import { emitRateLimited, emitRateLimitedOf } from "./rate-limited";
import { FACT_RATE_LIMITED, FACT_RECORD, FACT_SAFETY_INPUT, FACT_SAFETY_OUTPUT, FactsProperty, FactsReader } from "../../lib/analytics/facts";
import { responseCode } from "./facts";

/** `ai.facts`: when absent or malformed, the individual keys are read. */
const FACTS = new FactsProperty();
/** The record of the packed path, reused: its counts are set per request, its labels per new label set. */
const scratch = new AiRecord();

class AiMetricsRoot extends RootContext {
  config: AiMetricsConfig = new AiMetricsConfig();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new AiMetricsStream(contextId, this, this.config);
  }
}

class AiMetricsStream extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: AiMetricsConfig,
  ) {
    super(id, root);
  }

  onLog(): void {
    const cfg = this.config;
    if (!cfg.aiMetrics && !cfg.genaiMetrics) return;
    const facts = FACTS.read();
    if (facts != null) this.emitFacts(facts);
    else this.emitKeys();
  }

  /** Every series from the packed facts. */
  private emitFacts(r: FactsReader): void {
    const cfg = this.config;
    let code: i64 = -2; // read once, with the first record
    while (r.next()) {
      const kind = r.kind;
      if (kind == FACT_RECORD) {
        if (code == -2) code = responseCode();
        countsFromFacts(scratch, r.at, code);
        const series = seriesForFacts(r.at, r.len, scratch, cfg.workspace);
        if (cfg.aiMetrics) series.emitKong(scratch);
        if (cfg.genaiMetrics) series.emitGenai(scratch);
      } else if (cfg.aiMetrics) {
        if (kind == FACT_SAFETY_INPUT) countBlocks("input", r.payload(), cfg.workspace);
        else if (kind == FACT_SAFETY_OUTPUT) countBlocks("output", r.payload(), cfg.workspace);
        else if (kind == FACT_RATE_LIMITED) emitRateLimitedOf(r.payload(), cfg.workspace);
      }
    }
  }

  /** Every series from the individual keys. */
  private emitKeys(): void {
    const cfg = this.config;
    if (cfg.aiMetrics) emitSafetyBlocks(cfg.workspace);
    if (cfg.aiMetrics) emitRateLimited(cfg.workspace);
    // Kong counts only streams with an `ai` record: ai-proxy's and each transformer's LLM call.
    for (let i = 0; i < RECORDS.length; i++) {
      const r = readRecord(unchecked(RECORDS[i]));
      if (r == null) continue;
      const series = seriesFor(r, cfg.workspace, this);
      if (cfg.aiMetrics) series.emitKong(r);
      if (cfg.genaiMetrics) series.emitGenai(r);
    }
  }
}

/**
 * on_log, then the stream's context is dropped: it is the last callback this module gets for a
 * stream. Envoy's Context::log runs onLog once, when the request is complete (earlier,
 * mid-request access-log calls return before reaching the module), and only onDone and
 * onDelete follow, which this module does not export.
 */
export function proxy_on_log(contextId: u32): void {
  onLogOf(contextId);
  removeStream(contextId);
}

registerRootContext("", (id: u32): RootContext => new AiMetricsRoot(id));
