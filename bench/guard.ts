// ai-prompt-guard's cost (numbers, not pass/fail). First the pattern-count table: every pattern
// of a guard runs in one pass (lib/regex RegexSet, a DFA over all of them), so the µs per KB of
// prompt should barely grow from 1 to 10 to 50 patterns; one pattern at a time it grew linearly.
// Then the time per request, adversarial input against benign, per pattern. Patterns whose DFA explodes (overlapping counted repetitions) are what an
// attacker picks input for: a lazy DFA keeps meeting new states and falls back to the Pike VM.
// The guard bounds every pattern at configure time (whole DFA, or the bit-parallel NFA), so the
// ratio stays near 1. Two tables: the regex engine alone on a 100 KB text (lazy DFA as before
// the bound, and bounded as the guard runs it), and whole requests with a 100 KB prompt through
// the local gateway's guard filter.
import { resolve } from "node:path";
import { printTable, type Row } from "./table.ts";
import { loadRegexCheck as load, outputText, putInput as put, type RegexCheck } from "../test/support/regex-check.ts";
import { filter, startGateway } from "../test/support/gateway.ts";
import { startUpstream } from "../test/support/upstream.ts";
import { send } from "../test/support/client.ts";
import { medianRunMs } from "./timing.ts";
import { GUARD_PATTERNS } from "./regex.ts";

const enc = new TextEncoder();
/** Prompt size (BENCH_GUARD_KB, default 100 KB): both engines are linear, so the ratios hold at any size. */
const SIZE = Number(process.env.BENCH_GUARD_KB ?? 100) * 1024;

/** Deterministic pseudo-random text over `alphabet` (high LCG bits: the low ones cycle). */
function random(n: number, alphabet: string, seed = 7): string {
  let r = seed;
  let s = "";
  for (let i = 0; i < n; i++) {
    r = (Math.imul(r, 1103515245) + 12345) & 0x7fffffff;
    s += alphabet[(r >>> 16) % alphabet.length];
  }
  return s;
}

/** Pseudo-random concatenation of `words`, `n` bytes. */
function tokens(n: number, words: string[], seed = 11): string {
  let r = seed;
  const out: string[] = [];
  let len = 0;
  while (len < n) {
    r = (Math.imul(r, 1103515245) + 12345) & 0x7fffffff;
    const w = words[(r >>> 16) % words.length]!;
    out.push(w);
    len += w.length;
  }
  return out.join("").slice(0, n);
}

function prose(n: number): string {
  const words = ["the", "model", "should", "answer", "questions", "about", "weather", "in", "Paris", "and", "Zürich", "on", "with", "42", "degrees", "please", "summarize", "this", "report:", "revenue", "grew", "while", "costs", "fell.", "Thanks!"];
  const out: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = words[(i * 7 + (i >> 3)) % words.length]!;
    out.push(w);
    len += Buffer.byteLength(w) + 1;
  }
  return out.join(" ").slice(0, n);
}

/** Patterns and inputs that keep the most NFA threads alive without ever matching. */
export const ADVERSARIAL: { pattern: string; input: (n: number) => string }[] = [
  { pattern: "a[ab]{20}c", input: (n) => random(n, "ab") },
  // "key" at random offsets among letters and digits: each one starts a new overlapping attempt.
  { pattern: "(?i)key.{0,40}[a-z0-9]{40}x", input: (n) => tokens(n, ["key", "a", "b", "7", "z", "e", "y", "k", "0", "q"]) },
  { pattern: "(a|b)*a(a|b){12}c", input: (n) => random(n, "ab") },
  { pattern: "(?i)(secret|token)[^\\n]{0,20}[A-Za-z0-9]{32}!", input: (n) => Array.from({ length: Math.ceil(n / 30) }, (_, i) => "token " + random(24, "abcdefghijklmnopqrstuvwxyz0123456789", i + 1)).join("").slice(0, n) },
  // The widest state the bit-parallel NFA takes (95 positions), every one of them alive.
  { pattern: "(?i)x[a-z0-9 ]{0,72}y[a-z]{20}!", input: (n) => random(n, "xyabc ") },
  { pattern: "(?i)ignore (all )?previous instructions", input: (n) => "ignore all previous ".repeat(Math.ceil(n / 20)).slice(0, n) },
];


/** 30 more deny patterns of the kinds guards ship (secrets, PII, jailbreak phrases), to reach 50. */
const MORE_PATTERNS = [
  "\\bAIza[0-9A-Za-z_-]{35}\\b",
  "\\bsk-[A-Za-z0-9]{32,}\\b",
  "\\bxox[baprs]-[0-9A-Za-z-]{10,48}",
  "\\bgithub_pat_[0-9A-Za-z_]{22,}",
  "\\bglpat-[0-9A-Za-z_-]{20}\\b",
  "\\bnpm_[A-Za-z0-9]{36}\\b",
  "\\bSG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}\\b",
  "\\b3[47][0-9]{13}\\b",
  "\\b6(?:011|5[0-9]{2})[0-9]{12}\\b",
  "\\bIBAN:? ?[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}\\b",
  "\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b",
  "\\+[1-9]\\d{9,14}\\b",
  "(?i)\\bpassport (?:no|number)\\b",
  "(?i)developer mode( enabled)?",
  "(?i)\\bDAN\\b|do anything now",
  "(?i)(pretend|act) (to be|as) (an? )?(unfiltered|unrestricted|jailbroken)",
  "(?i)\\bjail ?break(ing|s)?\\b",
  "(?i)reveal (your|the) (system|hidden) (prompt|instructions)",
  "(?i)disregard (all|any) (prior|previous) (rules|instructions)",
  "(?i)you are no longer bound",
  "(?i)\\bhow to (make|build) (a )?(bomb|explosive)",
  "(?i)\\b(kill|murder)\\s+(him|her|them)\\b",
  "(?i)credit card (number|dump)s?",
  "(?i)\\bssn\\b\\s*[:=]",
  "(?i)\\bpassword\\s*[:=]\\s*\\S{6,}",
  "(?i)\\bprivate[_ ]key\\b",
  "(?i)<\\s*script\\b",
  "(?i)\\bunion\\s+select\\b",
  "(?i)\\brm\\s+-rf\\s+/",
  "(\\xE2\\x80[\\x8B-\\x8F]|\\xE2\\x81\\xA0|\\xEF\\xBB\\xBF)",
];

/** µs per KB of prompt for 1, 10 and 50 patterns in one set, against one pattern at a time. */
function benchPatternCounts(x: RegexCheck): void {
  const pool = [...GUARD_PATTERNS, ...MORE_PATTERNS];
  const text = enc.encode(prose(32 * 1024));
  const kb = text.length / 1024;
  const rows: Row[] = [];
  for (const count of [1, 10, 50]) {
    x.reset();
    const ids = pool.slice(0, count).map((p) => {
      const id = x.compile(put(x, enc.encode(p)));
      if (id < 0 || x.bound(id) < 0) throw new Error(`bench pattern ${p} refused: ${outputText(x)}`);
      return id;
    });
    const t0 = performance.now();
    for (const id of ids) x.setAdd(id, 0);
    const set = x.setBuild(1);
    const buildMs = performance.now() - t0;
    const len = put(x, text);
    if (x.setSearch(set, len) !== 0) throw new Error(`bench prose matches one of the first ${count} patterns`);
    const one = medianRunMs(9, () => x.setSearch(set, len));
    const each = medianRunMs(5, () => {
      for (const id of ids) x.test(id, len);
    });
    rows.push({
      patterns: count,
      passes: x.setPasses(set),
      "DFA states": x.setStates(set),
      "build ms": buildMs,
      "one pass µs/KB": (one * 1000) / kb,
      "one by one µs/KB": (each * 1000) / kb,
      speedup: each / one,
    });
  }
  printTable(`ai-prompt-guard's patterns on a ${kb.toFixed(0)} KB prompt that none matches: one pass for all (RegexSet) against one pattern at a time (each its whole DFA)`, rows);

  // The bound holds for a set too: every adversarial pattern in one guard, each one's input against prose.
  x.reset();
  const ids = ADVERSARIAL.map((a) => {
    const id = x.compile(put(x, enc.encode(a.pattern)));
    x.bound(id);
    return id;
  });
  for (const id of ids) x.setAdd(id, 0);
  const set = x.setBuild(1);
  const benign = put(x, enc.encode(prose(SIZE)));
  const tb = medianRunMs(5, () => x.setSearch(set, benign));
  const adv: Row[] = [];
  for (const a of ADVERSARIAL) {
    const len = put(x, enc.encode(a.input(SIZE)));
    if (x.setSearch(set, len) !== 0) throw new Error(`adversarial text matches the set (${a.pattern})`);
    const ta = medianRunMs(5, () => x.setSearch(set, len));
    adv.push({ "input made against": a.pattern, passes: x.setPasses(set), "benign ms": tb, "adversarial ms": ta, ratio: ta / tb });
  }
  printTable(`lib/regex: the ${ADVERSARIAL.length} patterns above in one set on ${SIZE / 1024} KB, adversarial vs benign (the bound: ratio ≤ 3)`, adv);
}

function benchEngine(x: RegexCheck): void {
  const rows: Row[] = [];
  const benign = enc.encode(prose(SIZE));
  for (const a of ADVERSARIAL) {
    const adv = enc.encode(a.input(SIZE));
    // Before: a warm lazy DFA on benign text; on adversarial text the DFA thrashed and the
    // search finished on the Pike VM (every search, after three thrashes).
    const lazy = x.compile(put(x, enc.encode(a.pattern)));
    const lb = put(x, benign);
    if (x.test(lazy, lb)) throw new Error(`benign text matches ${a.pattern}`);
    const beforeBenign = medianRunMs(5, () => x.test(lazy, lb));
    let la = put(x, adv);
    x.test(lazy, la);
    const thrashed = x.dfaFlushes(lazy) > 0;
    const beforeAdv = thrashed ? medianRunMs(3, () => x.testPike(lazy, la)) : medianRunMs(5, () => x.test(lazy, la));
    // Now: bound() at configure time, as the guard does.
    const id = x.compile(put(x, enc.encode(a.pattern)));
    if (x.bound(id) < 0) throw new Error(`${a.pattern} refused`);
    const strategy = outputText(x);
    put(x, benign);
    const tb = medianRunMs(5, () => x.test(id, lb));
    la = put(x, adv);
    if (x.test(id, la)) throw new Error(`adversarial text matches ${a.pattern}`);
    const ta = medianRunMs(5, () => x.test(id, la));
    rows.push({
      pattern: a.pattern,
      "before: benign ms": beforeBenign,
      "before: adversarial ms": beforeAdv,
      "before: ratio": beforeAdv / beforeBenign,
      strategy,
      "benign ms": tb,
      "adversarial ms": ta,
      ratio: ta / tb,
    });
  }
  printTable(`lib/regex: one pattern on ${SIZE / 1024} KB of text, adversarial vs benign (before: lazy DFA, Pike VM once it thrashes; now: bounded at configure time)`, rows);
}

async function benchRequests(): Promise<void> {
  const rows: Row[] = [];
  const body = (text: string) => JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] });
  const benign = body(prose(SIZE));
  const up = await startUpstream();
  try {
    for (const a of ADVERSARIAL) {
      // BENCH_GUARD_WASM: another build of the filter (e.g. an older commit's), for a before/after.
      const code = process.env.BENCH_GUARD_WASM ?? filter("ai-prompt-guard");
      const gw = await startGateway({ filters: [{ name: "guard", code, config: { deny_patterns: [a.pattern] } }], clusters: { upstream: { port: up.port } } });
      try {
        const adv = body(a.input(SIZE));
        const time = async (b: string): Promise<number> => {
          const t: number[] = [];
          for (let i = 0; i < 12; i++) {
            const s = performance.now();
            const r = await send(gw.url, { path: "/v1/chat/completions", body: b, headers: { "content-type": "application/json" } });
            t.push(performance.now() - s);
            if (r.status !== 200) throw new Error(`${a.pattern}: ${r.status} ${r.body}`);
          }
          t.sort((p, q) => p - q);
          return t[6]!;
        };
        await time(benign); // warm-up: the VM, the pattern's tables, the connection path
        const tb = await time(benign);
        const ta = await time(adv);
        rows.push({ pattern: a.pattern, "benign ms/request": tb, "adversarial ms/request": ta, ratio: ta / tb });
      } finally {
        await gw.close();
      }
    }
  } finally {
    await up.close();
  }
  printTable(`ai-prompt-guard: a request with a ${SIZE / 1024} KB prompt through the local gateway, adversarial vs benign prompt (median of 12)`, rows);
}

export async function benchGuard(): Promise<void> {
  const x = load();
  benchPatternCounts(x);
  x.reset();
  benchEngine(x);
  await benchRequests();
}

// Run directly: npx tsx bench/guard.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await benchGuard();
