// Envoy's global rate limit service for tests: Debian's redis-server and envoyproxy/ratelimit
// (built by scripts/install-test-servers.sh into build/test-servers/), each on a free loopback
// port, with a config that declares the domain (the filter sends its limits as descriptor
// limit overrides, so no descriptor needs configuring).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const RATELIMIT_BIN = resolve(import.meta.dirname, "../../build/test-servers/ratelimit");
export const REDIS_BIN = "/usr/bin/redis-server";

export interface RateLimitService {
  grpcPort: number;
  redisPort: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess, name: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, "127.0.0.1", () => {
        c.destroy();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port}`);
}

function stopProc(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once("exit", () => r());
    p.kill("SIGTERM");
    setTimeout(() => p.kill("SIGKILL"), 3000).unref();
  });
}

export async function startRateLimitService(domain = "ai-gateway"): Promise<RateLimitService> {
  for (const [bin, how] of [
    [REDIS_BIN, "install Debian's redis-server (scripts/install-test-servers.sh)"],
    [RATELIMIT_BIN, "build envoyproxy/ratelimit with scripts/install-test-servers.sh (needs Go)"],
  ]) {
    if (!existsSync(bin!)) throw new Error(`${bin} is missing: ${how}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "aigw-rls-"));
  const redisPort = await freePort();
  const redis = spawn(REDIS_BIN, ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  await waitForPort(redisPort, redis, "redis-server");
  mkdirSync(join(dir, "runtime", "ratelimit", "config"), { recursive: true });
  // One descriptor so the domain loads; the filter's own limits come as overrides.
  writeFileSync(join(dir, "runtime", "ratelimit", "config", "ai.yaml"), `domain: ${domain}\ndescriptors:\n  - key: ai_namespace\n    rate_limit: { unit: hour, requests_per_unit: 1000000000 }\n`);
  const [grpcPort, httpPort, debugPort] = [await freePort(), await freePort(), await freePort()];
  const rls = spawn(RATELIMIT_BIN, [], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      GRPC_HOST: "127.0.0.1",
      DEBUG_HOST: "127.0.0.1",
      PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      DEBUG_PORT: String(debugPort),
      USE_STATSD: "false",
      LOG_LEVEL: "warn",
      BACKEND_TYPE: "redis",
      REDIS_SOCKET_TYPE: "tcp",
      REDIS_URL: `127.0.0.1:${redisPort}`,
      RUNTIME_ROOT: join(dir, "runtime"),
      RUNTIME_SUBDIRECTORY: "ratelimit",
      RUNTIME_WATCH_ROOT: "false",
    },
  });
  let err = "";
  rls.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  try {
    await waitForPort(grpcPort, rls, "envoyproxy/ratelimit");
  } catch (e) {
    await stopProc(rls);
    await stopProc(redis);
    throw new Error(`${(e as Error).message}: ${err}`);
  }
  return {
    grpcPort,
    redisPort,
    stop: async () => {
      await stopProc(rls);
      await stopProc(redis);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An Envoy cluster (HTTP/2, as gRPC needs) for the service, as YAML continuing a `clusters:` list. */
export function rlsClusterYaml(name: string, port: number, http2 = true): string {
  return `
  - name: ${name}
    connect_timeout: 1s
    type: STATIC${
      http2
        ? `
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}`
        : ""
    }
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }`;
}
