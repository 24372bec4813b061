// The echo upstream as a process of its own (bench/processes.ts starts it).
import { startEchoUpstream } from "./upstream.ts";

const up = await startEchoUpstream();
process.stdout.write(`listening on ${up.port}\n`);
process.on("SIGTERM", () => void up.close().then(() => process.exit(0)));
