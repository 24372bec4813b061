// A test-only filter for lib/llm/route/headers.ts: it runs a script of header reads and changes
// on the request headers (on_request_headers) and on the response headers (on_response_headers)
// three times on the same map, restored in between: through the snapshot ai-proxy uses
// (HeaderView.request/response), through direct host calls and through decoded pairs. It logs
// an error when the reads or the resulting maps differ, and the snapshot's result as
// "headers-check <side> <reads> | <map>" at INFO.
//   {"secrets": ["sk-abc"], "request": [{"op": "get", "name": "X"}, {"op": "replace", "name": "x", "value": "v"},
//    {"op": "remove", "name": "x"}, {"op": "redact"}], "response": [...]}
export * from "../../../lib/runtime/exports";
import { JSON } from "json-as";
import { Action, HttpContext, RootContext, logError, logInfo, registerRootContext } from "../../../lib/runtime";
import { HeaderPair } from "../../../lib/abi/pairs";
import { HeaderView } from "../../../lib/llm/route/headers";
import { Secrets } from "../../../lib/llm/redact";
import { ResponseHeads } from "../../../lib/llm/route/response-heads";
import { arrAt, getArr, getString, parseObject, valueObj, valueString } from "../../../lib/json/read";

function mapText(ps: HeaderPair[]): string {
  let s = "";
  for (let i = 0; i < ps.length; i++) s += (i > 0 ? "\n" : "") + unchecked(ps[i]).key + ": " + unchecked(ps[i]).value;
  return s;
}

function copy(ps: HeaderPair[]): HeaderPair[] {
  const out = new Array<HeaderPair>();
  for (let i = 0; i < ps.length; i++) out.push(new HeaderPair(unchecked(ps[i]).key, unchecked(ps[i]).value));
  return out;
}

class Check extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: JSON.Obj,
    private readonly secrets: Secrets,
  ) {
    super(id, root);
  }

  /** Runs the script on `h`; returns the reads' answers. */
  private run(h: HeaderView, ops: JSON.Arr): string {
    let out = "";
    for (let i = 0; i < ops.length; i++) {
      const o = valueObj(arrAt(ops, i));
      if (o == null) continue;
      const op = getString(o, "op");
      const name = getString(o, "name");
      const value = getString(o, "value");
      if (op == "get") {
        const v = h.get(name!);
        out += "[" + (v != null ? v : "(null)") + "]";
      } else if (op == "is") out += h.is(name!, value!) ? "[yes]" : "[no]"; else if (op == "replace") h.replace(name!, value!);
      else if (op == "remove") h.remove(name!);
      else if (op == "redact") h.redact(this.secrets);
    }
    return out;
  }

  private check(request: bool, side: string): void {
    const ops = getArr(this.config, side);
    if (ops == null) return;
    const original = copy(request ? this.getRequestHeaders() : this.getResponseHeaders());
    const reads = new Array<string>();
    const maps = new Array<string>();
    for (let k = 0; k < 3; k++) {
      if (k > 0) {
        if (request) this.setRequestHeaders(copy(original));
        else this.setResponseHeaders(copy(original));
      }
      const h = k == 0 ? (request ? HeaderView.request(this) : HeaderView.response(this)) : k == 1 ? HeaderView.direct(this, request) : HeaderView.decoded(this, request);
      reads.push(this.run(h, ops));
      maps.push(mapText(request ? this.getRequestHeaders() : this.getResponseHeaders()));
    }
    for (let k = 1; k < 3; k++) {
      if (reads[k] != reads[0]) logError(side + " reads differ: " + reads[0] + " vs " + reads[k]);
      if (maps[k] != maps[0]) logError(side + " maps differ: " + maps[0] + " vs " + maps[k]);
    }
    logInfo("headers-check " + side + " " + reads[0] + " | " + maps[0]);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.check(true, "request");
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.check(false, "response");
    const values = getArr(this.config, "heads");
    if (values != null) this.checkHeads(values);
    return Action.Continue;
  }

  /**
   * lib/llm/route/response-heads.ts: reads the response map through its walk (on the snapshot
   * view) and without it (direct calls, decoded pairs), masking credentials as ai-proxy does,
   * and logs an error when the reads differ, or when the walk's "removing / replacing by v
   * would change nothing" answers are not exactly what the resulting map says.
   */
  private checkHeads(values: JSON.Arr): void {
    const original = copy(this.getResponseHeaders());
    const reads = new Array<string>();
    let skips = "";
    for (let k = 0; k < 3; k++) {
      this.setResponseHeaders(copy(original));
      const h = k == 0 ? HeaderView.response(this) : k == 1 ? HeaderView.direct(this, false) : HeaderView.decoded(this, false);
      const r = new ResponseHeads().read(h, this.secrets, k == 0);
      let out = "status=" + r.status().toString();
      r.redact(this.secrets);
      for (let slot = 0; slot < 7; slot++) {
        const v = r.get(slot);
        out += " [" + (v != null ? v : "(null)") + "]";
        for (let i = 0; i < values.length; i++) out += r.is(slot, valueString(arrAt(values, i))!) ? "y" : "n";
      }
      reads.push(out);
      if (k != 0) continue;
      // The walk's skips against the map as it now is (masked or not).
      const ps = this.getResponseHeaders();
      const names = [":status", "content-type", "content-length", "content-encoding", "set-cookie", "cache-control", "x-ai-gateway-llm-model"];
      let want = "";
      let got = "";
      for (let slot = 0; slot < 7; slot++) {
        let n = 0;
        let first = "";
        for (let j = 0; j < ps.length; j++) {
          if (unchecked(ps[j]).key != names[slot]) continue;
          if (n++ == 0) first = unchecked(ps[j]).value;
        }
        want += n == 0 ? "a" : "-";
        got += r.absent(slot) ? "a" : "-";
        for (let i = 0; i < values.length; i++) {
          const v = valueString(arrAt(values, i))!;
          want += n == 1 && first == v ? "s" : "-";
          got += r.single(slot, v) ? "s" : "-";
        }
        want += " ";
        got += " ";
      }
      // A skip the map does not bear out would lose a change; once the view answers (no walk),
      // nothing is skipped here. Non-ASCII values are never skipped by the walk.
      if (r.walked) skips = got + "| " + want;
      else if (got.indexOf("a") >= 0 || got.indexOf("s") >= 0) logError("heads skip without the walk: " + got);
    }
    for (let k = 1; k < 3; k++) if (reads[k] != reads[0]) logError("heads reads differ: " + reads[0] + " vs " + reads[k]);
    logInfo("headers-check heads " + reads[0] + " | " + skips);
  }
}

class CheckRoot extends RootContext {
  config: JSON.Obj = new JSON.Obj();
  secrets: Secrets = new Secrets();

  onConfigure(bytes: Uint8Array): bool {
    const p = parseObject(bytes);
    if (p.value == null) return false;
    this.config = p.value!;
    const s = getArr(this.config, "secrets");
    if (s != null) for (let i = 0; i < s.length; i++) this.secrets.add(valueString(arrAt(s, i))!);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new Check(contextId, this, this.config, this.secrets);
  }
}

registerRootContext("", (id: u32): RootContext => new CheckRoot(id));
