#!/usr/bin/env node
// The aigw CLI: the TypeScript host runs through tsx's loader (no separate compile step).
import { setFlagsFromString } from "node:v8";
import { register } from "tsx/esm/api";

// V8's allocation-site pretenuring misfires on a proxy: a burst of concurrent requests makes
// the request-object sites look long-lived, V8 then allocates every later request in old space,
// and those dead old objects keep each new request's young objects alive (promoted, then
// collected only by full GCs). Measured here: 10 ms scavenges promoting 35% of the young
// generation, against 1 ms and ~0% without it. Set before any request code is loaded.
setFlagsFromString("--no-allocation-site-pretenuring");
register();
const { main } = await import("../host/cli.ts");
process.exitCode = await main(process.argv.slice(2));
