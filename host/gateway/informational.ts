// Informational (1xx) upstream responses, as Envoy's HTTP/1 codec and router treat them: a
// `100 Continue` (or `102`, `103`) before the final response is decoded and swallowed
// (source/common/http/http1/codec_impl.cc ClientConnectionImpl::onHeadersComplete:
// decode100ContinueHeaders, then ignore_message_complete_for_1xx_; the router does not proxy it
// with proxy_100_continue false), and the final response goes on. undici's HTTP/1 client
// instead destroys the connection on any 100 ("bad response"), which made the router answer 503.
// So the upstream socket drops 1xx responses (not 101, an upgrade) from the head of each response
// before undici's parser sees them. A response head is: the first bytes on the connection, and
// the first bytes after each request head undici writes (pipelining is 1, so a request is written
// only when the previous response is done).

import type { Socket } from "node:net";

/** 1xx heads larger than this are passed on as they are (undici will refuse them). */
const MAX_HELD = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");
const REQUEST_LINE = / HTTP\/1\.1\r\n/;

/** `HTTP/1.x 1yz` other than 101 at the start of `b` (true), something else (false), or too short to tell (null). */
function informational(b: Buffer): boolean | null {
  const want = "HTTP/1.";
  for (let i = 0; i < want.length; i++) {
    if (i >= b.length) return null;
    if (b[i] !== want.charCodeAt(i)) return false;
  }
  if (b.length < 12) return null;
  const status = b.toString("latin1", 9, 12);
  return /^1\d\d$/.test(status) && status !== "101" && (b[7] === 0x30 || b[7] === 0x31) && b[8] === 0x20;
}

export function dropInformationalResponses(socket: Socket): void {
  let atHead = true;
  let held: Buffer | null = null;
  const push = socket.push;
  socket.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null || !atHead || !Buffer.isBuffer(chunk)) {
      if (chunk === null && held) {
        const h = held;
        held = null;
        push.call(this, h);
      }
      return push.call(this, chunk, encoding);
    }
    let buf: Buffer = held ? Buffer.concat([held, chunk]) : chunk;
    held = null;
    while (atHead && buf.length > 0) {
      const info = informational(buf);
      if (info === false) {
        atHead = false;
        break;
      }
      const end = info === null ? -1 : buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (buf.length > MAX_HELD) {
          atHead = false;
          break;
        }
        held = buf; // wait for the rest of the head
        return true;
      }
      buf = buf.subarray(end + 4);
    }
    return buf.length > 0 ? push.call(this, buf) : true;
  } as Socket["push"];

  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    const chunk = args[0];
    // undici writes each request head as one latin1 string starting with the request line.
    if (typeof chunk === "string" && REQUEST_LINE.test(chunk.slice(0, chunk.indexOf("\r\n") + 2))) atHead = true;
    return write.apply(this, args);
  } as Socket["write"];
}
