// The Azure Content Safety simulator speaks the documented REST API: Microsoft's own client
// (@azure-rest/ai-content-safety, api-version 2023-10-01) reads its answers and errors.
import ContentSafetyClient, { isUnexpected } from "@azure-rest/ai-content-safety";
import { AzureKeyCredential } from "@azure/core-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SAFETY_DEFAULT_KEY, startContentSafety, type ContentSafetySimulator } from "./simulators/index.ts";

let sim: ContentSafetySimulator;
beforeAll(async () => {
  sim = await startContentSafety({ blocklists: { words: ["forbidden phrase"] } });
});
afterAll(async () => {
  await sim?.close();
});

const client = (key = CONTENT_SAFETY_DEFAULT_KEY) => ContentSafetyClient(sim.url, new AzureKeyCredential(key), { retryOptions: { maxRetries: 0 }, allowInsecureConnection: true });

describe("Azure Content Safety simulator, through Microsoft's client", () => {
  it("analyzes text in four and eight severity levels", async () => {
    const four = await client().path("/text:analyze").post({ body: { text: "I despise them and will kill", categories: ["Hate", "Violence", "Sexual"] } });
    if (isUnexpected(four)) throw new Error(JSON.stringify(four.body));
    expect(four.body.categoriesAnalysis).toEqual([
      { category: "Hate", severity: 2 },
      { category: "Violence", severity: 4 },
      { category: "Sexual", severity: 0 },
    ]);
    const eight = await client().path("/text:analyze").post({ body: { text: "I despise them", categories: ["Hate"], outputType: "EightSeverityLevels" } });
    if (isUnexpected(eight)) throw new Error(JSON.stringify(eight.body));
    expect(eight.body.categoriesAnalysis).toEqual([{ category: "Hate", severity: 3 }]);
    const req = sim.requests.at(-1)!;
    expect(req.query.get("api-version")).toBe("2023-10-01");
    expect(req.headers["ocp-apim-subscription-key"]).toBe(CONTENT_SAFETY_DEFAULT_KEY);
  });

  it("all four categories when none are named; blocklists, with and without haltOnBlocklistHit", async () => {
    const all = await client().path("/text:analyze").post({ body: { text: "hello" } });
    if (isUnexpected(all)) throw new Error("unexpected");
    expect(all.body.categoriesAnalysis.map((c) => c.category)).toEqual(["Hate", "SelfHarm", "Sexual", "Violence"]);
    for (const halt of [true, false]) {
      const r = await client().path("/text:analyze").post({ body: { text: "a Forbidden Phrase here", blocklistNames: ["words"], haltOnBlocklistHit: halt } });
      if (isUnexpected(r)) throw new Error("unexpected");
      expect(r.body.blocklistsMatch).toEqual([{ blocklistName: "words", blocklistItemId: expect.any(String), blocklistItemText: "forbidden phrase" }]);
      expect(r.body.categoriesAnalysis.length).toBe(halt ? 0 : 4);
    }
  });

  it("answers Azure's errors: key, text length, unknown blocklist, api-version", async () => {
    const denied = await client("wrong").path("/text:analyze").post({ body: { text: "x" } });
    expect(denied.status).toBe("401");
    expect(isUnexpected(denied) && denied.body.error.code).toBe("401");
    const long = await client().path("/text:analyze").post({ body: { text: "a".repeat(10001) } });
    expect(long.status).toBe("400");
    expect(isUnexpected(long) && long.body.error.code).toBe("InvalidRequestBody");
    const ok = await client().path("/text:analyze").post({ body: { text: "😀".repeat(10000) } }); // 10,000 characters, 20,000 UTF-16 units
    expect(ok.status).toBe("200");
    const nobl = await client().path("/text:analyze").post({ body: { text: "x", blocklistNames: ["nope"] } });
    expect(nobl.status).toBe("404");
    const noVersion = await fetch(`${sim.url}/contentsafety/text:analyze`, { method: "POST", headers: { "ocp-apim-subscription-key": CONTENT_SAFETY_DEFAULT_KEY, "content-type": "application/json" }, body: "{}" });
    expect(noVersion.status).toBe(404);
    const badVersion = await fetch(`${sim.url}/contentsafety/text:analyze?api-version=1999-01-01`, { method: "POST", headers: { "ocp-apim-subscription-key": CONTENT_SAFETY_DEFAULT_KEY, "content-type": "application/json" }, body: "{}" });
    expect(badVersion.status).toBe(400);
    expect(((await badVersion.json()) as { error: { code: string } }).error.code).toBe("InvalidRequest");
  });
});
