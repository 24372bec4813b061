// Access-log lines are written when a stream ends, which can be after the client has read its
// answer: a test waits for the lines it expects instead of sleeping a fixed time.
import { existsSync, readFileSync } from "node:fs";

/** The file's non-empty lines once there are at least `count` (or what is there after `timeoutMs`). */
export async function accessLogLines(path: string, count = 1, timeoutMs = 3000): Promise<string[]> {
  const read = () => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0) : []);
  const end = Date.now() + timeoutMs;
  let lines = read();
  while (lines.length < count && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5));
    lines = read();
  }
  return lines;
}
