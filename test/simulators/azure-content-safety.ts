// Azure AI Content Safety simulator: POST /contentsafety/text:analyze?api-version=…, as
// documented for the REST API (2023-10-01 GA and later). Auth is the Ocp-Apim-Subscription-Key
// header; the body is {text (1–10,000 characters), categories?, blocklistNames?,
// haltOnBlocklistHit?, outputType?}; the answer {blocklistsMatch[], categoriesAnalysis[]}.
// Errors are Azure's {"error":{"code","message",…}}. The "model" is a lexicon: each listed word
// found in the text (whole word, any case) gives its category a severity on the 0–7 scale;
// FourSeverityLevels reports it rounded down to 0, 2, 4 or 6. Blocklists match items as
// case-insensitive substrings; with haltOnBlocklistHit a hit skips the category analysis.
import type { Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { json, objectBody, startSimulator } from "./server.ts";
import { idFrom } from "./model.ts";

export const CONTENT_SAFETY_DEFAULT_KEY = "cs-test-key";
export const CONTENT_SAFETY_API_VERSIONS = ["2023-10-01", "2024-09-01", "2024-02-15-preview", "2023-10-15-preview"];
export const CATEGORIES = ["Hate", "SelfHarm", "Sexual", "Violence"] as const;
export type CategoryName = (typeof CATEGORIES)[number];

/** Word → category and severity (0–7). */
export type Lexicon = Record<string, { category: CategoryName; severity: number }>;

export const DEFAULT_LEXICON: Lexicon = {
  despise: { category: "Hate", severity: 3 },
  bigots: { category: "Hate", severity: 5 },
  punch: { category: "Violence", severity: 2 },
  kill: { category: "Violence", severity: 4 },
  massacre: { category: "Violence", severity: 7 },
  explicit: { category: "Sexual", severity: 2 },
  cutting: { category: "SelfHarm", severity: 4 },
};

/** How the next answers go wrong (besides failNext's HTTP errors). */
export type Behaviour = "normal" | "garbage" | "wrong-shape" | "empty-analysis";

export interface ContentSafetyOptions {
  apiKey?: string;
  /** Also accept `Authorization: Bearer <token>` (an Entra ID token, managed identity). */
  bearerToken?: string;
  lexicon?: Lexicon;
  /** Blocklist name → items. */
  blocklists?: Record<string, string[]>;
}

export interface ContentSafetySimulator extends Simulator {
  /** Every text:analyze answer waits this long (0 = none). */
  setDelay(ms: number): void;
  setBehaviour(b: Behaviour): void;
}

const MAX_TEXT = 10000;

function azureError(status: number, code: string, message: string, req: SimRequest, extra: Record<string, unknown> = {}): Reply {
  return json(status, { error: { code, message, ...extra } }, { "apim-request-id": idFrom(req.raw + req.path, 32) });
}

function invalidBody(message: string, req: SimRequest, target: string | null = null): Reply {
  return azureError(400, "InvalidRequestBody", message, req, { target, details: [], innererror: { code: "InvalidRequestBody", message } });
}

/** Severities per category for `text`, on the 0–7 scale. */
export function analyze(text: string, lexicon: Lexicon): Record<CategoryName, number> {
  const out: Record<CategoryName, number> = { Hate: 0, SelfHarm: 0, Sexual: 0, Violence: 0 };
  for (const w of text.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) {
    const hit = lexicon[w];
    if (hit && hit.severity > out[hit.category]) out[hit.category] = hit.severity;
  }
  return out;
}

export async function startContentSafety(o: ContentSafetyOptions = {}): Promise<ContentSafetySimulator> {
  const key = o.apiKey ?? CONTENT_SAFETY_DEFAULT_KEY;
  const lexicon = o.lexicon ?? DEFAULT_LEXICON;
  const blocklists = o.blocklists ?? {};
  let delayMs = 0;
  let behaviour: Behaviour = "normal";

  const handle = (req: SimRequest): Reply => {
    if (req.path !== "/contentsafety/text:analyze") return azureError(404, "404", "Resource not found", req);
    if (req.method !== "POST") return azureError(405, "405", "Method not allowed", req);
    const version = req.query.get("api-version");
    if (!version) return azureError(404, "404", "Resource not found", req);
    if (!CONTENT_SAFETY_API_VERSIONS.includes(version)) {
      return azureError(400, "InvalidRequest", `The API version '${version}' is not supported. Supported versions: ${CONTENT_SAFETY_API_VERSIONS.join(", ")}.`, req);
    }
    const bearerOk = o.bearerToken !== undefined && req.headers["authorization"] === `Bearer ${o.bearerToken}`;
    if (req.headers["ocp-apim-subscription-key"] !== key && !bearerOk) {
      return azureError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.", req);
    }
    const body = objectBody(req);
    if (!body) return invalidBody("The request body is not valid JSON.", req);
    const text = body.text;
    if (typeof text !== "string" || text.length === 0) return invalidBody("The field text is required and must be a non-empty string.", req, "text");
    if ([...text].length > MAX_TEXT) return invalidBody(`The text is too long: at most ${MAX_TEXT} characters are allowed.`, req, "text");
    const cats = body.categories === undefined ? [...CATEGORIES] : body.categories;
    if (!Array.isArray(cats) || cats.some((c) => !CATEGORIES.includes(c as CategoryName))) return invalidBody("categories must be a subset of Hate, SelfHarm, Sexual, Violence.", req, "categories");
    const outputType = body.outputType ?? "FourSeverityLevels";
    if (outputType !== "FourSeverityLevels" && outputType !== "EightSeverityLevels") return invalidBody(`outputType '${String(outputType)}' is not supported.`, req, "outputType");
    const names = body.blocklistNames ?? [];
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) return invalidBody("blocklistNames must be an array of strings.", req, "blocklistNames");
    for (const n of names as string[]) if (!(n in blocklists)) return azureError(404, "NotFound", `The blocklist ${n} is not found.`, req);
    const halt = body.haltOnBlocklistHit === true;

    const reply = (r: Reply): Reply => (delayMs > 0 && r.kind !== "stream" ? { ...r, delayMs } : r);
    if (behaviour === "garbage") return reply({ kind: "raw", status: 200, headers: { "content-type": "application/json" }, body: "{\"categoriesAnalysis\": [ {\"category\": \"Hate\", \"severity\"" });
    if (behaviour === "wrong-shape") return reply(json(200, { result: "ok", categories: { Hate: 0 } }));

    const lower = text.toLowerCase();
    const blocklistsMatch = (names as string[]).flatMap((n) =>
      blocklists[n]!.map((item, i) => ({ item, i })).filter(({ item }) => lower.includes(item.toLowerCase())).map(({ item, i }) => ({ blocklistName: n, blocklistItemId: idFrom(n + i, 36), blocklistItemText: item })),
    );
    const severities = analyze(text, lexicon);
    const categoriesAnalysis =
      behaviour === "empty-analysis" || (halt && blocklistsMatch.length > 0)
        ? []
        : (cats as CategoryName[]).map((c) => ({ category: c, severity: outputType === "EightSeverityLevels" ? severities[c] : severities[c] - (severities[c] % 2) }));
    return reply(json(200, { blocklistsMatch, categoriesAnalysis }, { "apim-request-id": idFrom(req.raw, 32) }));
  };

  const provider: Provider = {
    handle,
    forcedError: (status, req) => azureError(status, String(status), status === 429 ? "Rate limit is exceeded. Try again in 1 seconds." : "Internal server error.", req),
  };
  const sim = await startSimulator(provider);
  return { ...sim, setDelay: (ms) => void (delayMs = ms), setBehaviour: (b) => void (behaviour = b) };
}
