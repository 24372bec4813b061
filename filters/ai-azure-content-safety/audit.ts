// Kong's audit fields as filter state (Envoy: FILTER_STATE `wasm.<key>`), written as soon
// as they are known: Envoy runs the access loggers before the filters' on_log.
//   ai.audit.azure_content_safety.<Category>        the breached category's rejection_level
//   ai.proxy.azure-content-safety.<field>           mode, azure_api_version, azure_content_safety_url,
//     input_processing_latency, output_processing_latency (ms), input_block_reason,
//     output_block_reason, guards_triggered_count, input_faulty_prompt / output_faulty_response
//     (with log_blocked_content), input_block_categories / output_block_categories (this
//     gateway's: "Hate,Violence" or "Blocklist", read by ai-metrics), output_held_text_max (this
//     gateway's: a streamed answer's most text held back at once, bytes)

import { HttpContext } from "../../lib/runtime";
import { FACT_SAFETY_INPUT, FACT_SAFETY_OUTPUT, putNamesFact } from "../../lib/analytics/facts";
import { SafetyConfig } from "./config";
import { Verdict } from "./azure";

const PREFIX = "ai.proxy.azure-content-safety.";
const AUDIT = "ai.audit.azure_content_safety.";

function set(ctx: HttpContext, field: string, value: string): void {
  ctx.setPropertyString([PREFIX + field], value);
}

export class Audit {
  guards: i32 = 0;
  private described: bool = false;

  /** The record's fixed fields, once per stream that ran a check. */
  describe(ctx: HttpContext, c: SafetyConfig): void {
    if (this.described) return;
    this.described = true;
    set(ctx, "mode", c.modeName);
    set(ctx, "azure_api_version", c.apiVersion);
    set(ctx, "azure_content_safety_url", c.url);
  }

  latency(ctx: HttpContext, output: bool, ms: i64): void {
    set(ctx, output ? "output_processing_latency" : "input_processing_latency", ms.toString());
  }

  /** A streamed answer: the most generated text (bytes) held back at once so far. */
  heldText(ctx: HttpContext, bytes: i64): void {
    set(ctx, "output_held_text_max", bytes.toString());
  }

  /** A block: the categories' levels, the reason, the count, and (optionally) the text. */
  blocked(ctx: HttpContext, c: SafetyConfig, output: bool, v: Verdict, reason: string, text: string): void {
    for (let i = 0; i < v.breached.length; i++) {
      ctx.setPropertyString([AUDIT + v.breached[i].name], v.breached[i].rejectionLevel.toString());
    }
    const dir = output ? "output_" : "input_";
    set(ctx, dir + "block_reason", reason);
    const categories = v.labels();
    set(ctx, dir + "block_categories", categories);
    putNamesFact(ctx, output ? FACT_SAFETY_OUTPUT : FACT_SAFETY_INPUT, categories); // for ai-metrics
    this.guards++;
    set(ctx, "guards_triggered_count", this.guards.toString());
    if (c.logBlockedContent) set(ctx, output ? "output_faulty_response" : "input_faulty_prompt", text);
  }
}
