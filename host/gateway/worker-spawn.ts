// Starts a worker thread running the module at `moduleUrl` (its top level checks workerData's
// role). Built, the host is one file (build/aigw.mjs) that is its own worker script; from
// TypeScript sources (tests, tsx) the thread registers tsx's loader first.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type TransferListItem } from "node:worker_threads";

export function spawnThread(moduleUrl: string, workerData: unknown, transferList: TransferListItem[] = []): Worker {
  if (!moduleUrl.endsWith(".ts")) return new Worker(new URL(moduleUrl), { workerData, transferList });
  const tsx = new URL("dist/esm/api/index.mjs", pathToFileURL(createRequire(import.meta.url).resolve("tsx/package.json"))).href;
  const src = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  return new Worker(src, { eval: true, workerData, transferList });
}
