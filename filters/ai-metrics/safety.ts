// Blocks by ai-azure-content-safety, counted per direction and category. That filter writes
// `ai.proxy.azure-content-safety.{input,output}_block_categories` ("Hate,Violence", or
// "Blocklist" for a blocklist match) when it blocks; a blocked prompt never reaches ai-proxy,
// so these are counted whether or not an ai-proxy record exists.

import { counter, getPropertyString, taggedName } from "../../lib/runtime";
import { labelValue } from "./series";

export const SAFETY_BLOCKS = "ai_azure_content_safety_blocks_total";
const KEYS = ["direction", "category", "workspace"];

function count(direction: string, workspace: string): void {
  const v = getPropertyString(["ai.proxy.azure-content-safety." + direction + "_block_categories"]);
  if (v == null || v.length == 0) return;
  const cats = v.split(",");
  for (let i = 0; i < cats.length; i++) {
    const c = cats[i];
    if (c.length > 0) counter(taggedName(SAFETY_BLOCKS, KEYS, [direction, labelValue(c), workspace])).increment(1);
  }
}

/** Counts this stream's content-safety blocks (none: no stat is touched). */
export function emitSafetyBlocks(workspace: string): void {
  count("input", workspace);
  count("output", workspace);
}
