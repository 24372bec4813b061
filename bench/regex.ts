// lib/regex benchmarks (numbers, not pass/fail), on the wasm build of test/filters/regex-check:
// - the guard's work: a 100 KB prompt against 20 real guard patterns (yes/no through the lazy
//   DFA, as the filter runs them; and through the Pike VM alone, and leftmost-first find);
// - the classic catastrophic patterns on adversarial vs benign input of 15/30/60 KB: the time
//   per KB stays flat (linear), where a backtracking engine explodes.
import { resolve } from "node:path";
import { printTable, type Row } from "./table.ts";
import { loadRegexCheck as load, outputText, putInput as put, type RegexCheck } from "../test/support/regex-check.ts";
import { medianRunMs } from "./timing.ts";

const enc = new TextEncoder();

function compile(x: RegexCheck, pattern: string): number {
  const id = x.compile(put(x, enc.encode(pattern)));
  if (id < 0) throw new Error(`bench pattern ${pattern} refused: ${outputText(x)}`);
  return id;
}

export const GUARD_PATTERNS = [
  "\\b\\d{3}-\\d{2}-\\d{4}\\b",
  "\\b4[0-9]{12}(?:[0-9]{3})?\\b",
  "\\b5[1-5][0-9]{14}\\b",
  "\\b(?:\\d[ -]*?){13,16}\\b",
  "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
  "(\\([0-9]{3}\\)|[0-9]{3}-)[0-9]{3}-[0-9]{4}",
  "\\bAKIA[0-9A-Z]{16}\\b",
  "\\bgh[pousr]_[A-Za-z0-9]{36}\\b",
  "-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY( BLOCK)?-----",
  "\\beyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\b",
  "(?i)(api[_-]?key|secret|token|password)\\s*[:=]\\s*['\"]?[A-Za-z0-9_\\-]{16,}",
  "(?i)ignore (all )?(the )?(previous|prior|above) (instructions|prompts|rules)",
  "(?i)\\b(DAN|do anything now)\\b",
  "(?i)(pretend|act) (to be|as if you are|as) (an? )?(unfiltered|unrestricted|jailbroken)",
  "(?i)(reveal|print|show|repeat) (me )?(your|the) (system|initial|hidden) (prompt|instructions)",
  "(?i)\\bjail ?break(ing|s)?\\b",
  "(?i).*bypass.*(login|password|auth).*",
  "(?i).*social engineering.*",
  "(\\xE2\\x80[\\x8B-\\x8D]|\\xEF\\xBB\\xBF)",
  "\\xF3\\xA0\\x80[\\xA0-\\xBF]|\\xF3\\xA0\\x81[\\x80-\\xBF]",
];

/** About `bytes` of ordinary prose (with digits, punctuation and some UTF-8) that no guard pattern matches. */
function prose(bytes: number): Uint8Array {
  const words = ["the", "model", "should", "answer", "questions", "about", "weather", "in", "Paris", "and", "Zürich", "on", "2024-05-01,", "with", "42", "degrees", "—", "please", "summarize", "this", "report:", "revenue", "grew", "by", "7.5%", "while", "costs", "fell.", "Thanks!", "naïve", "café", "user", "asked", "twice"];
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const w = words[(i * 7 + (i >> 3)) % words.length]!;
    out.push(w);
    n += Buffer.byteLength(w) + 1;
  }
  return enc.encode(out.join(" ")).subarray(0, bytes);
}

function benchGuard(x: RegexCheck): void {
  const ids = GUARD_PATTERNS.map((p) => compile(x, p));
  const text = prose(100 * 1024);
  const len = put(x, text);
  // Nothing may match, or the searches stop early and measure less.
  for (let i = 0; i < ids.length; i++) if (x.test(ids[i]!, len)) throw new Error(`bench prose matches ${GUARD_PATTERNS[i]}`);
  const cold = (() => {
    const fresh = GUARD_PATTERNS.map((p) => compile(x, p));
    put(x, text);
    const s = performance.now();
    for (const id of fresh) x.test(id, len);
    return performance.now() - s;
  })();
  const all = (fn: (id: number) => void) => () => {
    for (const id of ids) fn(id);
  };
  const dfa = medianRunMs(9, all((id) => x.test(id, len)));
  const pike = medianRunMs(3, all((id) => x.testPike(id, len)));
  const find = medianRunMs(3, all((id) => x.find(id, len)));
  const kb = text.length / 1024;
  const rows: Row[] = [
    { engine: "lazy DFA, first request (builds its states)", "ms (20 patterns)": cold, "MB/s per pattern": (kb / 1024) * 20 / (cold / 1000), "µs/KB/pattern": (cold * 1000) / kb / 20 },
    { engine: "lazy DFA, warm (what the guard does)", "ms (20 patterns)": dfa, "MB/s per pattern": (kb / 1024) * 20 / (dfa / 1000), "µs/KB/pattern": (dfa * 1000) / kb / 20 },
    { engine: "Pike VM, yes/no", "ms (20 patterns)": pike, "MB/s per pattern": (kb / 1024) * 20 / (pike / 1000), "µs/KB/pattern": (pike * 1000) / kb / 20 },
    { engine: "Pike VM, leftmost-first find", "ms (20 patterns)": find, "MB/s per pattern": (kb / 1024) * 20 / (find / 1000), "µs/KB/pattern": (find * 1000) / kb / 20 },
  ];
  printTable(`lib/regex: a ${kb.toFixed(0)} KB prompt against ${ids.length} guard patterns (no match, so every byte is scanned)`, rows);
}

const CATASTROPHIC: { pattern: string; adversarial: (n: number) => string }[] = [
  { pattern: "(a+)+$", adversarial: (n) => "a".repeat(n - 1) + "!" },
  { pattern: "(x+x+)+y", adversarial: (n) => "x".repeat(n) },
  { pattern: "^(\\w+\\s?)*$", adversarial: (n) => "a".repeat(n - 1) + "!" },
];

function benchCatastrophic(x: RegexCheck): void {
  const rows: Row[] = [];
  const sizes = [15, 30, 60];
  for (const c of CATASTROPHIC) {
    const id = compile(x, c.pattern);
    for (const kind of ["adversarial", "benign"] as const) {
      const row: Row = { pattern: c.pattern, input: kind };
      for (const kb of sizes) {
        const n = kb * 1024;
        const input = enc.encode(kind === "adversarial" ? c.adversarial(n) : new TextDecoder().decode(prose(n)));
        const len = put(x, input);
        const dfa = medianRunMs(5, () => x.test(id, len));
        const pike = medianRunMs(3, () => x.find(id, len));
        row[`DFA µs/KB ${kb}K`] = (dfa * 1000) / kb;
        row[`Pike µs/KB ${kb}K`] = (pike * 1000) / kb;
      }
      rows.push(row);
    }
  }
  printTable("lib/regex: catastrophic-backtracking patterns, time per KB at 15/30/60 KB (flat = linear)", rows);
}

export async function benchRegex(): Promise<void> {
  const x = load();
  benchGuard(x);
  benchCatastrophic(x);
}

// Run directly: npx tsx bench/regex.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await benchRegex();
