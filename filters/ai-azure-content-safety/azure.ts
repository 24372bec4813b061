// Azure AI Content Safety `text:analyze` (REST api-version 2023-10-01): the request body
// {text, categories, blocklistNames, haltOnBlocklistHit, outputType}, the answer
// {categoriesAnalysis[{category, severity}], blocklistsMatch[{blocklistName, blocklistItemId,
// blocklistItemText}]}, and the 10,000-character limit on `text` (longer text is split).

import { arrAt, getArr, getObj, getString, isNumberType, parseObject, valueNumber, valueObj } from "../../lib/json";
import { ByteBuilder, JsonWriter } from "../../lib/llm/json-writer";
import { Category, SafetyConfig } from "./config";

/** Azure's limit on `text`, in characters (counted here in UTF-16 units, never more). */
export const MAX_TEXT_CHARS: i32 = 10000;
/** How far back from the limit a cut looks for whitespace. */
export const SPLIT_LOOKBACK: i32 = 200;

/** `{"text":"` */
const PREFIX: Uint8Array = Uint8Array.wrap(String.UTF8.encode('{"text":"'));

/** What follows the text in every call of this configuration: `","categories":[…],…}`. */
function suffix(c: SafetyConfig): Uint8Array {
  if (c.analyzeSuffix.length > 0) return c.analyzeSuffix;
  const w = new JsonWriter();
  w.beginObject().fieldString("text", "");
  w.key("categories").beginArray();
  for (let i = 0; i < c.categories.length; i++) w.string(c.categories[i].name);
  w.endArray();
  if (c.blocklists.length > 0) {
    w.key("blocklistNames").beginArray();
    for (let i = 0; i < c.blocklists.length; i++) w.string(c.blocklists[i]);
    w.endArray();
    w.fieldBool("haltOnBlocklistHit", c.haltOnBlocklistHit);
  }
  w.fieldString("outputType", c.eightLevels ? "EightSeverityLevels" : "FourSeverityLevels");
  w.endObject();
  c.analyzeSuffix = w.toBytes().slice(PREFIX.length);
  return c.analyzeSuffix;
}

/** The JSON body of one text:analyze call for the escaped text esc[start, end). */
export function analyzeBody(c: SafetyConfig, esc: Uint8Array, start: i32, end: i32): ArrayBuffer {
  const tail = suffix(c);
  const out = new ByteBuilder(PREFIX.length + (end - start) + tail.length);
  out.bytes(PREFIX);
  out.range(esc, start, end);
  out.bytes(tail);
  const b = out.toBytes();
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

export const enum Failure {
  None = 0,
  /** Reset, timeout, no healthy host, non-200, or an answer that is not the documented shape. */
  Service = 1,
  /** 401/403: Kong's "failed to authenticate with Azure Content Services". */
  Auth = 2,
}

/** The outcome of one check (every piece of it). */
export class Verdict {
  /** Configured categories at or above their rejection_level, in configuration order. */
  breached: Category[] = [];
  /** Blocklists that matched. */
  blocklists: string[] = [];
  failure: Failure = Failure.None;
  /** Why the check failed, for the log (never the key). */
  reason: string = "";

  get blocked(): bool {
    return this.breached.length > 0 || this.blocklists.length > 0;
  }

  fail(kind: Failure, reason: string): void {
    if (this.failure == Failure.None) {
      this.failure = kind;
      this.reason = reason;
    }
  }

  /** Kong's detail: "breached category [Hate] at level 2; …" (the configured level), then blocklists. */
  detail(): string {
    const parts = new Array<string>();
    for (let i = 0; i < this.breached.length; i++) {
      const b = this.breached[i];
      parts.push("breached category [" + b.name + "] at level " + b.rejectionLevel.toString());
    }
    for (let i = 0; i < this.blocklists.length; i++) parts.push("matched blocklist [" + this.blocklists[i] + "]");
    return parts.join("; ");
  }

  /** Breached category names (and "Blocklist"), comma-joined: the metrics' category labels. */
  labels(): string {
    const parts = new Array<string>();
    for (let i = 0; i < this.breached.length; i++) parts.push(this.breached[i].name);
    if (this.blocklists.length > 0) parts.push("Blocklist");
    return parts.join(",");
  }

  private addBreach(c: Category): void {
    for (let i = 0; i < this.breached.length; i++) if (this.breached[i].name == c.name) return;
    this.breached.push(c);
  }

  /** Keeps configuration order, whatever order the pieces answered in. */
  sortBreaches(c: SafetyConfig): void {
    const sorted = new Array<Category>();
    for (let i = 0; i < c.categories.length; i++) {
      for (let k = 0; k < this.breached.length; k++) if (this.breached[k].name == c.categories[i].name) sorted.push(c.categories[i]);
    }
    this.breached = sorted;
  }

  /** Merges one text:analyze answer (status 0 = the call failed: reset or refused). */
  read(c: SafetyConfig, status: i32, body: Uint8Array): void {
    if (status == 401 || status == 403) {
      this.fail(Failure.Auth, "Azure Content Safety refused the key (status " + status.toString() + ")");
      return;
    }
    if (status != 200) {
      this.fail(Failure.Service, status == 0 ? "the call to Azure Content Safety failed (reset)" : status == 504 ? "Azure Content Safety did not answer in time (504)" : "Azure Content Safety answered status " + status.toString() + azureCode(body));
      return;
    }
    const p = parseObject(body);
    if (p.value == null) {
      this.fail(Failure.Service, "Azure Content Safety answered something that is not a JSON object");
      return;
    }
    const o = p.value!;
    const analysis = getArr(o, "categoriesAnalysis");
    const matches = getArr(o, "blocklistsMatch");
    if (analysis == null) {
      this.fail(Failure.Service, "Azure Content Safety's answer has no categoriesAnalysis array");
      return;
    }
    if (matches != null) {
      for (let i = 0; i < matches.length; i++) {
        const m = valueObj(arrAt(matches, i));
        const name = m != null ? getString(m, "blocklistName") : null;
        if (name == null) {
          this.fail(Failure.Service, "Azure Content Safety's blocklistsMatch[" + i.toString() + "] has no blocklistName");
          return;
        }
        if (!this.blocklists.includes(name)) this.blocklists.push(name);
      }
    }
    // Kong treats an empty analysis as a failure; with haltOnBlocklistHit Azure legitimately
    // skips the analysis after a blocklist hit.
    if (analysis.length == 0 && c.categories.length > 0 && (matches == null || matches.length == 0)) {
      this.fail(Failure.Service, "Azure Content Safety's categoriesAnalysis is empty");
      return;
    }
    for (let i = 0; i < analysis.length; i++) {
      const a = valueObj(arrAt(analysis, i));
      if (a == null) {
        this.fail(Failure.Service, "Azure Content Safety's categoriesAnalysis[" + i.toString() + "] is not an object");
        return;
      }
      const name = getString(a, "category");
      const sv = a.get("severity");
      if (name == null || sv == null || !isNumberType(sv.type)) {
        this.fail(Failure.Service, "Azure Content Safety's categoriesAnalysis[" + i.toString() + "] lacks category or severity");
        return;
      }
      const severity = valueNumber(sv);
      for (let k = 0; k < c.categories.length; k++) {
        const cat = c.categories[k];
        if (cat.name == name && severity >= <f64>cat.rejectionLevel) this.addBreach(cat);
      }
    }
  }
}

/** ` (Code: message)` from Azure's error body {"error":{"code","message"}}, when it has one. */
function azureCode(body: Uint8Array): string {
  const p = parseObject(body);
  if (p.value == null) return "";
  const e = getObj(p.value!, "error");
  if (e == null) return "";
  const code = getString(e, "code");
  const msg = getString(e, "message");
  if (code == null && msg == null) return "";
  return " (" + (code != null ? code! : "") + (msg != null ? ": " + clip(msg!) : "") + ")";
}

function clip(s: string): string {
  return s.length > 200 ? s.substring(0, 200) : s;
}
