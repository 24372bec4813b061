// Blocks by ai-azure-content-safety, counted per direction and category. That filter writes
// `ai.proxy.azure-content-safety.{input,output}_block_categories` ("Hate,Violence", or
// "Blocklist" for a blocklist match) when it blocks; a blocked prompt never reaches ai-proxy,
// so these are counted whether or not an ai-proxy record exists. The same categories come in
// `ai.facts` (lib/analytics/facts.ts) when the filter wrote it.

import { counter, taggedName } from "../../lib/runtime";
import { path, property } from "./facts";
import { labelValue } from "./series";

export const SAFETY_BLOCKS = "ai_azure_content_safety_blocks_total";
const KEYS = ["direction", "category", "workspace"];

// Paths serialised once per VM: both are read on every request, almost always absent.
const INPUT = path("ai.proxy.azure-content-safety.input_block_categories");
const OUTPUT = path("ai.proxy.azure-content-safety.output_block_categories");

/** Counts one block's categories in `raw` (comma-separated), if any. */
export function countBlocks(direction: string, raw: ArrayBuffer | null, workspace: string): void {
  if (raw == null || raw.byteLength == 0) return;
  const cats = String.UTF8.decode(raw).split(",");
  for (let i = 0; i < cats.length; i++) {
    const c = cats[i];
    if (c.length > 0) counter(taggedName(SAFETY_BLOCKS, KEYS, [direction, labelValue(c), workspace])).increment(1);
  }
}

/** Counts this stream's content-safety blocks from the individual keys (none: no stat is touched). */
export function emitSafetyBlocks(workspace: string): void {
  countBlocks("input", property(INPUT), workspace);
  countBlocks("output", property(OUTPUT), workspace);
}
