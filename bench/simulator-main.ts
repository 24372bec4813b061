// The OpenAI simulator as a process of its own, answering at full speed (no stream pacing).
import { startOpenAI } from "../test/simulators/index.ts";

const sim = await startOpenAI({ pacing: { delayMs: 0 } });
process.stdout.write(`listening on ${sim.port}\n`);
process.on("SIGTERM", () => void sim.close().then(() => process.exit(0)));
