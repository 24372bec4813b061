// Tag extraction as Envoy's TagProducerImpl does it (source/common/stats/tag_producer_impl.cc,
// tag_extractor_impl.cc):
//  - every extractor looks at the ORIGINAL full name; the characters each one claims (its
//    first capture group) are collected and removed together at the end, so overlapping
//    claims simply merge;
//  - the tag value is the second group, or the first when there is none;
//  - extractors with no "prefix token" run first, then those whose prefix token equals the
//    name's first dot-separated token, each list in the order added: defaults, then
//    stats_tags in config order; the output labels follow that order;
//  - when several extractors share a tag name, only the first that matches adds a tag;
//  - custom `regex` entries are std::regex ECMAScript searches (JS RegExp is the same
//    dialect); fixed_value entries add their tag to every stat.

import {
  DEFAULT_REGEX_DESCRIPTORS,
  DEFAULT_TOKEN_DESCRIPTORS,
  type RegexDescriptor,
  type TokenDescriptor,
} from "./default-tags.ts";

export interface Tag {
  name: string;
  value: string;
}

export interface TagSpec {
  tagName: string;
  regex?: string;
  fixedValue?: string;
}

/** A stats_tags entry Envoy would refuse; `index` is its position in stats_tags. */
export class TagConfigError extends Error {
  constructor(
    readonly index: number,
    readonly field: "tag_name" | "regex",
    message: string,
  ) {
    super(message);
    this.name = "TagConfigError";
  }
}

type Interval = [start: number, end: number];

interface Context {
  name: string;
  tokens: string[] | null;
}

abstract class Extractor {
  otherWithSameName = false;
  constructor(
    readonly tagName: string,
    readonly prefix: string,
  ) {}
  abstract extract(ctx: Context, tags: Tag[], remove: Interval[]): boolean;
}

/** TagExtractorImplBase::extractRegexPrefix: "^word\." or "^word(?=\.)" or "^word$" gives "word". */
export function extractRegexPrefix(regex: string): string {
  if (!regex.startsWith("^")) return "";
  for (let i = 1; i < regex.length; i++) {
    const c = regex[i]!;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    if (i > 1) {
      const last = i === regex.length - 1;
      const rest = regex.slice(i);
      if ((!last && (rest.startsWith("\\.") || rest.startsWith("(?=\\."))) || (last && c === "$")) {
        return regex.slice(1, i);
      }
    }
    return "";
  }
  return "";
}

/** Regex extractor: custom stats_tags (std::regex) and Envoy's RE2 defaults behave alike here. */
class RegexExtractor extends Extractor {
  private readonly re: RegExp;
  constructor(
    tagName: string,
    regex: string,
    private readonly substr: string,
    private readonly negativeMatch: string,
    private readonly re2: boolean,
  ) {
    super(tagName, extractRegexPrefix(regex));
    this.re = new RegExp(regex, "d");
  }

  extract(ctx: Context, tags: Tag[], remove: Interval[]): boolean {
    if (this.substr && !ctx.name.includes(this.substr)) return false;
    const m = this.re.exec(ctx.name);
    if (!m || m.length < 2) return false; // no match, or no capture group at all
    const removeIdx = m.indices?.[1];
    if (this.re2) {
      // RE2::PartialMatch with two outputs: group 1 must be non-empty.
      if (!removeIdx || removeIdx[0] === removeIdx[1]) return false;
      const value = m[2] ? m[2] : m[1]!;
      if (this.negativeMatch && value === this.negativeMatch) return false;
      tags.push({ name: this.tagName, value });
      remove.push([removeIdx[0], removeIdx[1]]);
      return true;
    }
    // std::regex_search: any match with a group counts; an unmatched group is "".
    const value = m.length > 2 ? (m[2] ?? "") : (m[1] ?? "");
    tags.push({ name: this.tagName, value });
    if (removeIdx) remove.push([removeIdx[0], removeIdx[1]]);
    return true;
  }
}

/** TagExtractorTokensImpl: `$` is the value token, `*` any one token, `**` one or more. */
class TokenExtractor extends Extractor {
  private readonly tokens: string[];
  private readonly matchIndex: number;
  constructor(tagName: string, pattern: string) {
    const tokens = pattern.split(".");
    const first = tokens[0]!;
    super(tagName, first === "$" || first === "*" || first === "**" ? "" : first);
    this.tokens = tokens;
    this.matchIndex = tokens.indexOf("$");
  }

  extract(ctx: Context, tags: Tag[], remove: Interval[]): boolean {
    ctx.tokens ??= ctx.name.split(".");
    const input = ctx.tokens;
    const found = { start: 0, index: -1 };
    if (!this.search(input, 0, 0, 0, found) || found.index < 0) return false;
    const value = input[found.index]!;
    let start = found.start;
    let end = start + value.length;
    // Remove the dot after the value, or before it when the value is the last token.
    if (found.index < input.length - 1) end++;
    else if (start > 0) start--;
    tags.push({ name: this.tagName, value });
    remove.push([start, end]);
    return true;
  }

  /** TagExtractorTokensImpl::searchTags; `found` receives the `$` token's index and offset. */
  private search(input: string[], ii: number, pi: number, ci: number, found: { start: number; index: number }): boolean {
    for (; ii < input.length && pi < this.tokens.length; ii++, pi++) {
      if (pi === this.matchIndex) {
        found.start = ci;
        found.index = ii;
        ci += input[ii]!.length + 1;
        continue;
      }
      const want = this.tokens[pi]!;
      if (want === "**") {
        if (pi === this.tokens.length - 1) return true; // `**` at the end takes the rest (at least one token)
        // Elsewhere `**` must let the rest of the pattern match somewhere further on.
        for (; ii < input.length; ii++) {
          if (this.search(input, ii, pi + 1, ci, found)) return true;
          ci += input[ii]!.length + 1;
        }
        return false;
      }
      if (want !== "*" && want !== input[ii]) return false;
      ci += input[ii]!.length + 1;
    }
    return pi === this.tokens.length && ii === input.length;
  }
}

class FixedExtractor extends Extractor {
  constructor(
    tagName: string,
    private readonly value: string,
  ) {
    super(tagName, "");
  }
  extract(_ctx: Context, tags: Tag[]): boolean {
    tags.push({ name: this.tagName, value: this.value });
    return true;
  }
}

export interface ProducedTags {
  tagExtractedName: string;
  tags: Tag[];
}

export class TagProducer {
  private readonly withoutPrefix: Extractor[] = [];
  private readonly byPrefix = new Map<string, Extractor[]>();
  private readonly byName = new Map<string, Extractor>();

  constructor(config: { tagSpecifiers: readonly TagSpec[]; useAllDefaultTags: boolean }) {
    if (config.useAllDefaultTags) {
      for (const d of DEFAULT_REGEX_DESCRIPTORS) this.add(regexFromDescriptor(d));
      for (const d of DEFAULT_TOKEN_DESCRIPTORS) this.add(new TokenExtractor(d.name, d.pattern));
    }
    config.tagSpecifiers.forEach((spec, index) => {
      if (spec.fixedValue !== undefined) {
        this.add(new FixedExtractor(spec.tagName, spec.fixedValue));
        return;
      }
      if (!spec.tagName) throw new TagConfigError(index, "tag_name", "tag_name cannot be empty");
      if (!spec.regex) {
        // No regex: the default extractor(s) of that name, as Envoy's addExtractorsMatching.
        const regexes = DEFAULT_REGEX_DESCRIPTORS.filter((d) => d.name === spec.tagName);
        const tokens = DEFAULT_TOKEN_DESCRIPTORS.filter((d) => d.name === spec.tagName);
        if (regexes.length + tokens.length === 0) {
          throw new TagConfigError(index, "regex", `No regex specified for tag specifier and no default regex for name: '${spec.tagName}'`);
        }
        for (const d of regexes) this.add(regexFromDescriptor(d));
        for (const d of tokens) this.add(new TokenExtractor(d.name, d.pattern));
        return;
      }
      this.add(customRegex(spec.tagName, spec.regex, index));
    });
  }

  produceTags(name: string): ProducedTags {
    const tags: Tag[] = [];
    const remove: Interval[] = [];
    const ctx: Context = { name, tokens: null };
    const seen = new Set<string>();
    const run = (e: Extractor) => {
      if (e.otherWithSameName && seen.has(e.tagName)) return;
      if (e.extract(ctx, tags, remove) && e.otherWithSameName) seen.add(e.tagName);
    };
    for (const e of this.withoutPrefix) run(e);
    const dot = name.indexOf(".");
    if (dot >= 0) for (const e of this.byPrefix.get(name.slice(0, dot)) ?? []) run(e);
    return { tagExtractedName: removeCharacters(name, remove), tags };
  }

  private add(e: Extractor): void {
    const other = this.byName.get(e.tagName);
    if (other) {
      other.otherWithSameName = true;
      e.otherWithSameName = true;
    } else {
      this.byName.set(e.tagName, e);
    }
    if (!e.prefix) this.withoutPrefix.push(e);
    else {
      const list = this.byPrefix.get(e.prefix) ?? [];
      list.push(e);
      this.byPrefix.set(e.prefix, list);
    }
  }
}

function regexFromDescriptor(d: RegexDescriptor): RegexExtractor {
  return new RegexExtractor(d.name, d.regex, d.substr, d.negativeMatch, true);
}

function customRegex(tagName: string, regex: string, index: number): RegexExtractor {
  // std::regex's ECMAScript grammar has no lookbehind, named groups or \p{..}; JS accepts
  // them, Envoy would not.
  if (/\(\?<|\\k<|\\[pP]\{/.test(regex)) {
    throw new TagConfigError(index, "regex", `Invalid regex '${regex}': lookbehind, named groups and \\p{} are not part of std::regex ECMAScript`);
  }
  try {
    return new RegexExtractor(tagName, regex, "", "", false);
  } catch (e) {
    throw new TagConfigError(index, "regex", `Invalid regex '${regex}': ${(e as Error).message}`);
  }
}

/** StringUtil::removeCharacters: drop the union of the [start, end) intervals. */
function removeCharacters(name: string, remove: Interval[]): string {
  if (remove.length === 0) return name;
  const sorted = [...remove].sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (const [s, e] of sorted) {
    if (s > pos) out += name.slice(pos, s);
    pos = Math.max(pos, e);
  }
  return out + name.slice(pos);
}

export type { RegexDescriptor, TokenDescriptor };
