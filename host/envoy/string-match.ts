// envoy.type.matcher.v3.StringMatcher: exact / prefix / suffix / contains (optionally
// ignoring ASCII case) and safe_regex (RE2, full match; run here as a JS RegExp anchored at
// both ends, which agrees with RE2 for the patterns RE2 accepts).

import type { StringMatcher } from "./bootstrap-types.ts";
import { EnvoyConfigError } from "./errors.ts";
import { ObjReader } from "./config-reader.ts";

const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase()); // ASCII only, like absl

export function matchString(m: StringMatcher, value: string): boolean {
  if (m.safeRegex !== undefined) return new RegExp(`^(?:${m.safeRegex})$`).test(value);
  const v = m.ignoreCase ? lower(value) : value;
  const k = (s: string) => (m.ignoreCase ? lower(s) : s);
  if (m.exact !== undefined) return v === k(m.exact);
  if (m.prefix !== undefined) return v.startsWith(k(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(k(m.suffix));
  if (m.contains !== undefined) return v.includes(k(m.contains));
  return false;
}

/** Reads a StringMatcher; exactly one pattern, prefix/suffix/contains non-empty (proto rules). */
export function readStringMatcher(value: unknown, path: string): StringMatcher {
  const r = ObjReader.of(value, path);
  const out: StringMatcher = { ignoreCase: r.bool("ignore_case", false) };
  const kinds: string[] = [];
  for (const key of ["exact", "prefix", "suffix", "contains"] as const) {
    const v = r.optStr(key);
    if (v === undefined) continue;
    if (key !== "exact" && v === "") throw new EnvoyConfigError(r.at(key), "value must not be empty");
    out[key] = v;
    kinds.push(key);
  }
  const re = r.optObj("safe_regex");
  if (re) {
    const pattern = re.str("regex");
    re.ignore("google_re2");
    re.done();
    try {
      new RegExp(pattern);
    } catch (e) {
      throw new EnvoyConfigError(re.at("regex"), `invalid regex: ${(e as Error).message}`);
    }
    if (out.ignoreCase) throw new EnvoyConfigError(r.at("ignore_case"), "ignore_case has no effect for safe_regex.");
    out.safeRegex = pattern;
    kinds.push("safe_regex");
  }
  r.done(["custom"]);
  if (kinds.length !== 1) {
    throw new EnvoyConfigError(path, kinds.length === 0 ? "one of exact, prefix, suffix, contains, safe_regex is required" : `only one of ${kinds.join(", ")} may be set`);
  }
  return out;
}
