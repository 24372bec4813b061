// aigw: run the local gateway on an Envoy bootstrap, or validate one.
//   aigw run --config envoy/envoy.yaml [--concurrency N] [--log-level info]
//   aigw validate --config envoy/envoy.yaml
// Arguments are parsed with node's util.parseArgs; usage errors exit 2, config errors 1.

import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadBootstrap } from "./envoy/bootstrap.ts";
import { Gateway, formatLogLine } from "./gateway/gateway.ts";
import { WorkerGateway } from "./gateway/workers.ts";
import { LOG_LEVEL_NAMES, LogLevel } from "./abi/enums.ts";
import type { LogLine } from "./proxy/runtime.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  /** One line per option, in the order shown by --help. */
  help: [string, string][];
}

const CONFIG_HELP: [string, string] = ["-c, --config FILE", "the Envoy bootstrap YAML (required), e.g. envoy/envoy.yaml"];
const HELP_HELP: [string, string] = ["-h, --help", "show this help"];

const COMMANDS: Record<string, Command> = {
  run: {
    summary: "serve an Envoy bootstrap on the local gateway until SIGINT/SIGTERM",
    usage: "aigw run --config FILE [--concurrency N] [--log-level LEVEL]",
    options: {
      config: { type: "string", short: "c" },
      concurrency: { type: "string" },
      "log-level": { type: "string", short: "l" },
      help: { type: "boolean", short: "h" },
    },
    help: [
      CONFIG_HELP,
      ["--concurrency N", "worker threads, each with its own VMs of every wasm plugin, as Envoy's --concurrency (default 2)"],
      ["-l, --log-level LEVEL", `lowest level printed: ${LOG_LEVEL_NAMES.join("|")} (default info)`],
      HELP_HELP,
    ],
  },
  validate: {
    summary: "load the config and every wasm plugin (running on_configure) without serving",
    usage: "aigw validate --config FILE",
    options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
    help: [CONFIG_HELP, HELP_HELP],
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

function mainHelp(): string {
  const cmds = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`);
  return [
    "usage: aigw <command> [options]",
    "",
    "commands:",
    ...cmds,
    "",
    "options:",
    "  -h, --help     show this help (aigw <command> --help for a command's options)",
    "  -v, --version  print the version",
    "",
  ].join("\n");
}

function commandHelp(c: Command): string {
  const width = Math.max(...c.help.map(([flag]) => flag.length)) + 2;
  return [`usage: ${c.usage}`, "", c.summary, "", "options:", ...c.help.map(([flag, what]) => `  ${flag.padEnd(width)}${what}`), ""].join("\n");
}

function usageError(message: string, usage: string): number {
  process.stderr.write(`aigw: ${message}\n${usage}\n`);
  return 2;
}

/**
 * While plugins load, log lines are held: a plugin that fails to configure is reported once,
 * in the error that names it (which carries the plugin's own warn/error lines), and a line
 * that every worker VM of a plugin logs alike (each runs on_configure) is printed once.
 */
class LoadLog {
  private held: LogLine[] | null = [];
  private readonly seen = new Set<string>();

  constructor(private readonly level: number) {}

  readonly onLog = (l: LogLine): void => {
    if (l.level < this.level) return;
    if (this.held) this.held.push(l);
    else process.stderr.write(`${formatLogLine(l)}\n`);
  };

  /**
   * Prints what was held (once per plugin and message) and prints later lines as they come.
   * After a failed load, `error` is the message that will be printed: what it already says
   * (the failing plugin's lines, the VM failure the host logged) is not printed again.
   */
  flush(error?: string): void {
    for (const l of this.held ?? []) {
      if (error !== undefined && (error.includes(l.message) || (l.worker < 0 && l.level >= LogLevel.Error))) continue;
      const key = `${l.plugin}\0${l.level}\0${l.message}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      process.stderr.write(`${formatLogLine(l)}\n`);
    }
    this.held = null;
  }

}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    process.stdout.write(mainHelp());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "-v" || cmd === "--version") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[cmd];
  if (!command) return usageError(`unknown command '${cmd}' (expected ${Object.keys(COMMANDS).join(" or ")})`, "usage: aigw <command> [options]   (aigw --help describes each)");
  let values: { config?: string; concurrency?: string; "log-level"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }) as { values: typeof values });
  } catch (e) {
    return usageError((e as Error).message, `usage: ${command.usage}`);
  }
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  if (!values.config) return usageError("missing --config FILE (the Envoy bootstrap to load)", `usage: ${command.usage}`);
  const concurrency = values.concurrency !== undefined ? Number(values.concurrency) : 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) return usageError(`--concurrency must be a positive integer, got '${values.concurrency}'`, `usage: ${command.usage}`);
  const levelName = values["log-level"] ?? "info";
  const level = LOG_LEVEL_NAMES.indexOf(levelName as (typeof LOG_LEVEL_NAMES)[number]);
  if (level < 0) return usageError(`unknown --log-level '${levelName}' (expected ${LOG_LEVEL_NAMES.join(", ")})`, `usage: ${command.usage}`);

  const log = new LoadLog(level);
  try {
    const bootstrap = loadBootstrap(values.config);
    if (cmd === "validate") {
      const gw = await Gateway.load(bootstrap, { concurrency: 1, logLevel: level, onLog: log.onLog });
      log.flush();
      await gw.close();
      process.stdout.write(`${values.config}: OK (${bootstrap.listeners.length} listener(s), ${gw.pluginCount} wasm plugin(s), ${bootstrap.clusters.size} cluster(s))\n`);
      return 0;
    }
    // One worker thread per --concurrency, as Envoy's workers (host/gateway/workers.ts).
    const gw = await WorkerGateway.start(bootstrap, { concurrency, logLevel: level, onLog: log.onLog });
    log.flush();
    const where = [...gw.ports].map(([name, port]) => `${name} on :${port}`).join(", ");
    process.stderr.write(`aigw: serving ${values.config}: ${where}${gw.adminPort !== null ? `, admin on :${gw.adminPort}` : ""}\n`);
    const failure = await new Promise<Error | null>((resolve) => {
      const stop = () => resolve(null);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      void gw.failed.then(resolve);
    });
    await gw.close();
    if (failure) process.stderr.write(`aigw: ${failure.message}\n`);
    return failure ? 1 : 0;
  } catch (e) {
    const message = (e as Error).message;
    log.flush(message);
    process.stderr.write(`aigw: ${message}\n`);
    return 1;
  }
}
