// aigw: run the local gateway on an Envoy bootstrap, or validate one.
//   aigw run --config envoy/envoy.yaml [--concurrency N] [--log-level info]
//   aigw validate --config envoy/envoy.yaml

import { parseArgs } from "node:util";
import { loadBootstrap } from "./envoy/bootstrap.ts";
import { Gateway } from "./gateway/gateway.ts";
import { LOG_LEVEL_NAMES } from "./abi/enums.ts";

const USAGE = `usage:
  aigw run --config FILE [--concurrency N] [--log-level trace|debug|info|warn|error]
  aigw validate --config FILE`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  let values: { config?: string; concurrency?: string; "log-level"?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { config: { type: "string", short: "c" }, concurrency: { type: "string" }, "log-level": { type: "string", short: "l" } },
    }));
  } catch (e) {
    process.stderr.write(`aigw: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if ((cmd !== "run" && cmd !== "validate") || !values.config) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const concurrency = values.concurrency ? Number(values.concurrency) : 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`aigw: --concurrency must be a positive integer\n`);
    return 2;
  }
  const level = values["log-level"] ? LOG_LEVEL_NAMES.indexOf(values["log-level"] as (typeof LOG_LEVEL_NAMES)[number]) : 2;
  if (level < 0) {
    process.stderr.write(`aigw: unknown --log-level ${values["log-level"]}\n`);
    return 2;
  }
  try {
    const bootstrap = loadBootstrap(values.config);
    if (cmd === "validate") {
      const gw = await Gateway.load(bootstrap, { concurrency: 1, logLevel: level });
      await gw.close();
      process.stdout.write(`${values.config}: OK (${bootstrap.listeners.length} listener(s), ${gw.pluginCount} wasm plugin(s), ${bootstrap.clusters.size} cluster(s))\n`);
      return 0;
    }
    const gw = await Gateway.start(bootstrap, { concurrency, logLevel: level });
    const where = [...gw.ports].map(([name, port]) => `${name} on :${port}`).join(", ");
    process.stderr.write(`aigw: serving ${values.config}: ${where}${gw.adminPort !== null ? `, admin on :${gw.adminPort}` : ""}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await gw.close();
    return 0;
  } catch (e) {
    process.stderr.write(`aigw: ${(e as Error).message}\n`);
    return 1;
  }
}
