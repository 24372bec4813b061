// The peer gateway: Portkey 1.15.2 (npm @portkey-ai/gateway) started from its own node server
// entry, patched only to pass `overrideGlobalObjects: false` to @hono/node-server (its streaming
// needs it under Node), in headless mode, on a port of our choosing.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, type Proc } from "./processes.ts";

const ENTRY = join(ROOT, "node_modules/@portkey-ai/gateway/build/start-server.js");

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export async function startPortkeyProcess(): Promise<Proc> {
  const src = readFileSync(ENTRY, "utf8");
  const patched = src.replace("fetch:Lu.fetch,port:Ku}", "fetch:Lu.fetch,port:Ku,overrideGlobalObjects:!1}");
  if (patched === src) throw new Error("portkey: could not find the serve() call to patch in start-server.js");
  // Beside the original, so its own nested dependencies resolve.
  const file = join(ROOT, "node_modules/@portkey-ai/gateway/build/start-server-bench.mjs");
  writeFileSync(file, patched);
  const port = await freePort();
  const child = spawn(process.execPath, [file, `--port=${port}`, "--headless"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } });
  await new Promise<void>((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`portkey did not start: ${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c;
      if (/running|listening|Ready/i.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => rej(new Error(`portkey exited with ${code}: ${out}`)));
  });
  return {
    port,
    pid: child.pid,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once("exit", () => res());
        child.kill("SIGTERM");
      }),
  };
}
