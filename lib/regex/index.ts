// lib/regex: linear-time regular expressions over bytes (PCRE syntax, no UTF mode). See README.md.
export { Regex, RegexResult, compile, compileBytes } from "./regex";
export { MAX_PATTERN_BYTES, MAX_NESTING, MAX_REPEAT } from "./parser";
export { MAX_PROGRAM } from "./program";
export { RegexSet } from "./set";
