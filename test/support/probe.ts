// Reading the probe test filter's log lines: "probe <callback> <op> status=<n>[ value=...]" and
// "probe <callback> enter ctx=<id> <k>=<v> ...".
import type { RunningGateway } from "./gateway.ts";

export interface ProbeLine {
  cb: string;
  op: string;
  status: number | null;
  value: string | null;
  args: Record<string, string>;
  worker: number;
  raw: string;
}

export function probeLines(g: RunningGateway<unknown>): ProbeLine[] {
  return g.logs
    .filter((l) => l.message.startsWith("probe "))
    .map((l) => {
      const raw = l.message.slice(6);
      const [cb = "", op = "", ...rest] = raw.split(" ");
      const tail = rest.join(" ");
      const st = /(?:^| )status=(-?\d+)/.exec(tail);
      const vi = tail.indexOf("value=");
      const args: Record<string, string> = {};
      for (const m of tail.matchAll(/(\w+)=(\S*)/g)) args[m[1]!] ??= m[2]!;
      return { cb, op, status: st ? Number(st[1]) : null, value: vi >= 0 ? tail.slice(vi + 6) : null, args, worker: l.worker, raw };
    });
}

/** The first result of `op` in `cb`; throws with the probe's log when missing. */
export function result(g: RunningGateway<unknown>, cb: string, op: string, nth = 0): ProbeLine {
  const hits = probeLines(g).filter((l) => l.cb === cb && l.op === op);
  const hit = hits[nth];
  if (!hit) throw new Error(`no probe line for ${cb} ${op} #${nth}; probe log:\n${probeLines(g).map((l) => l.raw).join("\n")}`);
  return hit;
}

export function enters(g: RunningGateway<unknown>, cb?: string): ProbeLine[] {
  return probeLines(g).filter((l) => l.op === "enter" && (cb === undefined || l.cb === cb));
}

export const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};
