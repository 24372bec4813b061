// The request-body side shared by filters that rewrite an LLM request: buffer the whole body
// with the runtime (never Pause on headers: on stock Envoy that would hold the body from us),
// drop content-length while the headers are writable (the body will change), enforce Kong's
// max_request_body_size, and validate the JSON before anything reads it.

import { Action, BufferType } from "../abi/enums";
import { setBufferBytesFrom } from "../abi/buffers";
import { HttpContext, RootContext } from "../runtime/context";
import { validateJsonMembers } from "../json/validate";
import { DEFAULT_MAX_DEPTH } from "../json/read";
import { Kind, kindAt, Member, skipWs } from "./scan";
import { replyError } from "./errors";
import { vouched } from "./vouch";
import { NO_CONTENT_LENGTH, removeRequestContentLength, requestContentLength } from "./read";

/** Kong 3.12+'s default max_request_body_size; 0 means no limit of the filter's own. */
export const DEFAULT_MAX_REQUEST_BODY_SIZE: u64 = 1048576;

/**
 * A validated request body: its top-level kind and, for an object, its members. The one
 * readJsonDoc returns (and its members) is reused by the next call: read it, don't keep it.
 */
export class JsonDoc {
  constructor(
    public error: string | null,
    public kind: Kind,
    public members: Member[],
  ) {}
}

// The validator's member offsets, reused across requests (one VM runs one stream at a time).
const spans = new Array<i32>();
// The document and Member objects readJsonDoc hands out, reused: a request body costs no
// allocation here (each one would be garbage for the collector).
const doc = new JsonDoc(null, Kind.None, new Array<Member>());
const memberPool = new Array<Member>();

/**
 * Validates `body` (strict JSON, UTF-8, nesting limit) and lists the top-level members, in
 * one pass: the validator records them as it goes (a second walk with objectMembers went
 * through every string of the body again). The result is valid until the next call.
 */
export function readJsonDoc(body: Uint8Array, maxDepth: i32 = DEFAULT_MAX_DEPTH, takeVouch: bool = false): JsonDoc {
  const members = doc.members;
  // With takeVouch, a body an earlier prompt filter validated (at the default depth) and vouched
  // for (lib/prompt/vouch.ts says why that can be trusted): its spans, without a second validation.
  if (takeVouch && maxDepth == DEFAULT_MAX_DEPTH && vouched(body, members, memberPool)) {
    doc.error = null;
    doc.kind = Kind.Object;
    return doc;
  }
  const err = validateJsonMembers(body, maxDepth, spans);
  members.length = 0;
  doc.error = err;
  doc.kind = Kind.None;
  if (err != null) return doc;
  const kind = kindAt(body, skipWs(body, 0));
  doc.kind = kind;
  if (kind == Kind.Object) {
    // Key literals come with their quotes; a Member's key span is the bytes between them.
    for (let i = 0, n = spans.length, k = 0; i + 3 < n; i += 4, k++) {
      const ks = unchecked(spans[i]) + 1;
      const ke = unchecked(spans[i + 1]) - 1;
      const vs = unchecked(spans[i + 2]);
      const ve = unchecked(spans[i + 3]);
      if (k < memberPool.length) {
        const m = unchecked(memberPool[k]);
        m.keyStart = ks;
        m.keyEnd = ke;
        m.valueStart = vs;
        m.valueEnd = ve;
        members.push(m);
      } else {
        const m = new Member(ks, ke, vs, ve);
        memberPool.push(m);
        members.push(m);
      }
    }
  }
  return doc;
}

/**
 * A stream whose whole request body is handed to `onBody` once. Subclasses override `onBody`
 * (and `onNoBody` for a request that has none) and reply with `reject`.
 */
export class JsonBodyStream extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    /** The filter's name, used in response details and log lines. */
    public readonly filterName: string,
    /** Bytes; 0 = no limit of the filter's own (Envoy's buffer limit still applies). */
    public readonly maxBodySize: u64,
  ) {
    super(id, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (endOfStream) return this.onNoBody();
    // The body may change size, so a content-length must go now: Envoy's wasm Context::
    // decodeHeaders (source/extensions/common/wasm/context.cc) drops its hold on the request
    // headers once this callback answers Continue, so no later callback can fix them, and the
    // router forwards them as they are. (Holding the headers instead would hold the body from
    // us: see the file's head.) A body that goes on unchanged then travels chunked.
    if (this.maxBodySize > 0) {
      const n = requestContentLength();
      if (n != NO_CONTENT_LENGTH) {
        if (n >= 0 && <u64>n > this.maxBodySize) return this.tooLarge();
        removeRequestContentLength();
      }
      // Absent (an earlier filter of the chain removed it, or the request is chunked): there is
      // nothing to remove, and a host call saved.
    } else {
      removeRequestContentLength();
    }
    this.bufferRequestBody = true;
    return Action.Continue;
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    if (this.maxBodySize > 0 && <u64>body.length > this.maxBodySize) return this.tooLarge();
    return this.onBody(body);
  }

  /**
   * Replaces the body `onBody` was given by `bytes`. The same as replaceRequestBody without
   * asking the host for the buffer's size first: it is the whole body just delivered.
   */
  replaceBody(body: Uint8Array, bytes: Uint8Array): i32 {
    return setBufferBytesFrom(BufferType.HttpRequestBody, 0, <u32>body.length, bytes);
  }

  /** The whole request body, at most maxBodySize bytes. */
  onBody(body: Uint8Array): i32 {
    return Action.Continue;
  }

  /** A request without a body (headers ended the stream). */
  onNoBody(): i32 {
    return Action.Continue;
  }

  /** Replies `status` with an OpenAI-shaped error and stops the stream. */
  reject(status: u32, message: string): i32 {
    const details = this.filterName.replaceAll("-", "_") + (status == 413 ? "_body_too_large" : "_rejected");
    replyError(this, status, details, message);
    return Action.Pause;
  }

  tooLarge(): i32 {
    return this.reject(413, "request body is larger than max_request_body_size (" + this.maxBodySize.toString() + " bytes)");
  }
}
