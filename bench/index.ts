// npm run bench: every benchmark, printed as tables. Numbers, not pass/fail.
import { benchGateway } from "./gateway.ts";

const durationMs = Number(process.env.BENCH_MS ?? 3000);
await benchGateway(durationMs);
