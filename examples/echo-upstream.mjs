#!/usr/bin/env node
// A stand-in for the LLM provider: prints each request body it receives and answers with it,
// so you can see exactly what the gateway forwarded. Usage: node examples/echo-upstream.mjs [port]
import http from "node:http";

const port = Number(process.argv[2] ?? 8080);
http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      process.stdout.write(`${req.method} ${req.url}\n${body}\n\n`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: body }));
    });
  })
  .listen(port, "127.0.0.1", () => process.stderr.write(`echo upstream on 127.0.0.1:${port}\n`));
