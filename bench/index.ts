// npm run bench: every benchmark, printed as tables. Numbers, not pass/fail.
// BENCH_MS sets the duration of each load run (default 3000), BENCH_WARMUP_MS the warm-up per
// target before it is measured (default 6000), BENCH_ROUNDS the interleaved rounds of the
// ai-proxy comparison (default 5); BENCH_ONLY=gateway,scaling,ai-proxy,ai-proxy-advanced,chain,regex,guard,ratelimit,content-safety,transformers
// picks some; BENCH_CHAIN_ROUNDS and BENCH_MEMORY_REQUESTS size the chain bench (bench/chain.ts),
// BENCH_WASM_DIR points it at other builds of the filters (a before/after comparison); ai-proxy-wasm (only
// ai-proxy's in-process wasm time) and compile (asc's cost per optimisation setting) run only
// when named; BENCH_LOADGEN=node
// uses the Node client instead of wrk (see bench/load.ts).
import { setFlagsFromString } from "node:v8";
import { HARNESS_NODE_FLAGS } from "./processes.ts";
import { benchGateway, benchScaling } from "./gateway.ts";
import { benchAiProxy, benchAiProxyWasmOnly } from "./ai-proxy.ts";
import { benchRegex } from "./regex.ts";
import { benchCompile } from "./compile.ts";
import { benchAiProxyAdvanced } from "./ai-proxy-advanced.ts";
import { benchGuard } from "./guard.ts";
import { benchContentSafety } from "./content-safety.ts";
import { benchRateLimiting } from "./ai-rate-limiting.ts";
import { benchChain } from "./chain.ts";
import { benchTransformers } from "./transformers.ts";
import { installTestPrograms } from "../test/support/global-setup.ts";

// wrk and the servers some rows run, installed as `npm test` installs its programs (a fresh
// machine would otherwise measure with the Node client, which shares the cores and pulls the
// Portkey ratios toward 1).
if (process.env.BENCH_LOADGEN !== "node") installTestPrograms(["--bench"]);
// This process is the load generator.
setFlagsFromString(HARNESS_NODE_FLAGS.join(" "));
const durationMs = Number(process.env.BENCH_MS ?? 3000);
const only = new Set((process.env.BENCH_ONLY ?? "gateway,scaling,ai-proxy,ai-proxy-advanced,chain,regex,guard,ratelimit,content-safety,transformers").split(","));
if (only.has("gateway")) await benchGateway(durationMs);
// req/s at --concurrency 1 and 2 (BENCH_SCALING_ROUNDS rounds, default 3).
if (only.has("scaling")) await benchScaling(durationMs);
if (only.has("ai-proxy")) await benchAiProxy(durationMs);
// Only the in-process wasm time of ai-proxy (AI_PROXY_WASM picks the module, e.g. to compare build flags).
if (only.has("ai-proxy-wasm")) await benchAiProxyWasmOnly();
// Compile cost per optimisation setting (slow: only when asked for).
if (only.has("compile")) benchCompile();
if (only.has("ai-proxy-advanced")) await benchAiProxyAdvanced(durationMs);
if (only.has("chain")) await benchChain();
if (only.has("regex")) await benchRegex();
if (only.has("guard")) await benchGuard();
if (only.has("ratelimit")) await benchRateLimiting();
if (only.has("content-safety")) await benchContentSafety();
if (only.has("transformers")) await benchTransformers();
