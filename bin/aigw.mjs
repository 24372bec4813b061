#!/usr/bin/env node
// The aigw CLI: runs build/aigw.mjs, the host compiled to JavaScript by scripts/build-host.mjs
// (rebuilt there first when host/ changed), so no TypeScript loader is needed at run time.
import { setFlagsFromString } from "node:v8";
import { pathToFileURL } from "node:url";
import { hostBundle } from "../scripts/build-host.mjs";

// V8's allocation-site pretenuring misfires on a proxy: a burst of concurrent requests makes
// the request-object sites look long-lived, V8 then allocates every later request in old space,
// and those dead old objects keep each new request's young objects alive (promoted, then
// collected only by full GCs). Measured here: 10 ms scavenges promoting 35% of the young
// generation, against 1 ms and ~0% without it. Set before any request code is loaded.
setFlagsFromString("--no-allocation-site-pretenuring");
const { main } = await import(pathToFileURL(await hostBundle()).href);
process.exitCode = await main(process.argv.slice(2));
