// A tiny text-generation-inference (Hugging Face TGI) server for llama2_format=raw: echoes the
// prompt (as HF's API does) plus "Hi there!", streams TGI's SSE, and can fail or change the
// answer's shape on demand.
import http from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;

/** How the scripted server wraps a non-streamed answer: each shape Kong's llama2 driver reads. */
export type AnswerShape = "array" | "object" | "data";

/** A tiny text-generation-inference server: echoes the prompt (as HF's API does) plus "Hi there!". */
export async function startTgi(): Promise<{ url: string; port: number; requests: Json[]; failNext: (status: number, body: string) => void; shape: (s: AnswerShape) => void; close: () => Promise<void> }> {
  const requests: Json[] = [];
  let shape: AnswerShape = "array";
  const failures: { status: number; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
      requests.push({ path: req.url, headers: req.headers, body });
      const f = failures.shift();
      if (f) {
        res.writeHead(f.status, { "content-type": f.body.startsWith("{") ? "application/json" : "text/html" });
        res.end(f.body);
        return;
      }
      const words = ["Hi", " there", "!"];
      const details = { finish_reason: "eos_token", generated_tokens: words.length };
      if (body.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        words.forEach((w, i) => res.write(`data:${JSON.stringify({ index: i, token: { id: i, text: w, logprob: 0, special: false }, generated_text: null, details: null })}\n\n`));
        res.end(`data:${JSON.stringify({ index: 3, token: { id: 2, text: "</s>", logprob: 0, special: true }, generated_text: words.join(""), details })}\n\n`);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      const answer = { generated_text: `${String(body.inputs)} ${words.join("")}`, details };
      res.end(JSON.stringify(shape === "array" ? [answer] : shape === "object" ? answer : { data: [answer] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext: (status, body) => void failures.push({ status, body }),
    shape: (s) => void (shape = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
