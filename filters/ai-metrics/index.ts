// ai-metrics: Kong's AI Prometheus metrics and the OpenTelemetry GenAI client histograms as
// Envoy stats. It reads ai-proxy's (and the transformers' LLM calls') per-request facts from filter state in on_log (ai-proxy
// writes them when the response completes, or in its own on_log for a stream cut short, so
// this filter goes after ai-proxy in the chain) and touches no request or response data.

export * from "../../lib/runtime/exports";
import { HttpContext, RootContext, logError, registerRootContext } from "../../lib/runtime";
import { AiMetricsConfig, parseConfig } from "./config";
import { readRecord, RECORDS } from "./record";
import { seriesFor } from "./series-cache";
import { emitSafetyBlocks } from "./safety";
import { emitRateLimited } from "./rate-limited";

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

registerRootContext("", (id: u32): RootContext => new AiMetricsRoot(id));
