// A template compiled once at configure time: its UTF-8 bytes cut into literal spans and
// {{name}} placeholders, found as Kong finds them (Lua's gsub of "{{([%w_]+)}}": leftmost
// first, names of ASCII letters, digits and "_", no nesting).

import { validateJson } from "../../lib/json/validate";
import { DEFAULT_MAX_DEPTH } from "../../lib/json/read";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { Span } from "../../lib/prompt/scan";

/** One piece of a template: literal bytes `[start, end)` of `source`, or a placeholder. */
export class Part {
  constructor(
    public start: i32,
    public end: i32,
    /** The placeholder's name, or null for a literal span. */
    public name: string | null,
  ) {}
}

function isNameByte(c: u8): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

export class Template {
  source: Uint8Array;
  parts: Part[] = [];
  /** Placeholder names, each once, in order of first appearance. */
  names: string[] = [];

  constructor(
    public name: string,
    text: string,
  ) {
    this.source = Uint8Array.wrap(String.UTF8.encode(text));
    const b = this.source;
    const n = b.length;
    let lit = 0;
    let i = 0;
    while (i < n) {
      // "{{" + name + "}}" at i?
      if (unchecked(b[i]) == 0x7b && i + 1 < n && unchecked(b[i + 1]) == 0x7b) {
        let j = i + 2;
        while (j < n && isNameByte(unchecked(b[j]))) j++;
        if (j > i + 2 && j + 1 < n && unchecked(b[j]) == 0x7d && unchecked(b[j + 1]) == 0x7d) {
          const name = String.UTF8.decodeUnsafe(b.dataStart + <usize>(i + 2), <usize>(j - i - 2));
          if (i > lit) this.parts.push(new Part(lit, i, null));
          this.parts.push(new Part(0, 0, name));
          if (!this.names.includes(name)) this.names.push(name);
          i = j + 2;
          lit = i;
          continue;
        }
      }
      i++;
    }
    if (n > lit) this.parts.push(new Part(lit, n, null));
  }

  /**
   * Why the template is unusable, or null. Every placeholder is filled with "0", which fits
   * both inside a string and where a number goes; the result must be a JSON object. A
   * template that fails this cannot render valid JSON for ordinary values (for example a
   * placeholder right after a backslash, which a value could turn into a closing quote).
   */
  check(): string | null {
    const w = new ByteBuilder(this.source.length + 16);
    for (let k = 0; k < this.parts.length; k++) {
      const p = unchecked(this.parts[k]);
      if (p.name != null) w.byte(0x30);
      else w.range(this.source, p.start, p.end);
    }
    const out = w.toBytes();
    const err = validateJson(out, DEFAULT_MAX_DEPTH);
    if (err != null) return "is not valid JSON once its placeholders are filled (" + err + ")";
    let i = 0;
    while (i < out.length && (unchecked(out[i]) == 0x20 || unchecked(out[i]) == 0x09 || unchecked(out[i]) == 0x0a || unchecked(out[i]) == 0x0d)) i++;
    if (i >= out.length || unchecked(out[i]) != 0x7b) return "must be a JSON object (a whole request body)";
    return null;
  }

  /**
   * The rendered body: each placeholder replaced by the raw content of a JSON string from
   * `body` (already escaped: the body was validated, so it cannot close the string it lands in).
   * `values` holds the span for each name in `names` order.
   */
  render(body: Uint8Array, values: Map<string, Span>): Uint8Array {
    const w = new ByteBuilder(this.source.length + body.length);
    for (let k = 0; k < this.parts.length; k++) {
      const p = unchecked(this.parts[k]);
      const name = p.name;
      if (name != null) {
        // Map.get traps on a missing key: the caller has checked, but never trap.
        if (values.has(name)) {
          const v = values.get(name);
          w.range(body, v.start, v.end);
        }
      } else {
        w.range(this.source, p.start, p.end);
      }
    }
    // A view of the builder's bytes (sized for the result up front), not a copy of them.
    return w.buf.subarray(0, w.len);
  }
}
