#!/usr/bin/env node
// An ordinary JSON API for the transformer examples: GET /weather/<city> answers a small JSON
// document; anything else is 404. Usage: node examples/ai-json-api.mjs [port]
import http from "node:http";

const port = Number(process.argv[2] ?? 8080);
const WEATHER = {
  paris: { city: "Paris", temperature_c: 21, sky: "clear", advice: "A light jacket is enough tonight." },
  berlin: { city: "Berlin", temperature_c: 14, sky: "rain", advice: "Take an umbrella." },
};
http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const m = /^\/weather\/([a-z]+)$/.exec(req.url ?? "");
      const w = m ? WEATHER[m[1]] : undefined;
      process.stdout.write(`${req.method} ${req.url} -> ${w ? 200 : 404}\n`);
      res.writeHead(w ? 200 : 404, { "content-type": "application/json", "x-api": "weather" });
      res.end(JSON.stringify(w ?? { error: "unknown city" }));
    });
  })
  .listen(port, "127.0.0.1", () => process.stderr.write(`weather API on 127.0.0.1:${port}\n`));
