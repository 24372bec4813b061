// Envoy's write flushing for Node sockets, used on both sides of the proxy.

import type { Socket } from "node:net";

/**
 * Makes a socket flush like an Envoy connection: everything written during one event-loop
 * iteration goes out together when the iteration ends (Envoy moves writes into the
 * connection's write buffer and flushes it on the write event). Node writes each call at
 * once: undici sends a released request body's headers+chunk and its chunked terminator from
 * separate ticks, and the HTTP server a buffered response's data and terminator, so the peer
 * read each message in two wake-ups (half the 1-connection throughput here). The socket is
 * corked from its first write until the check phase of the same iteration; framing is
 * untouched.
 */
export function flushWritesOncePerLoop(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const flush = (): void => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return write.apply(this, args);
  } as Socket["write"];
}
