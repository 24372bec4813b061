// Envoy's write flushing for Node sockets, used on both sides of the proxy.

import type { Socket } from "node:net";

/** What a caller can ask of a socket that flushes once per loop iteration. */
export interface LoopFlush {
  /**
   * Runs `end` (which ends an HTTP response) with its flush held to the end of the iteration like
   * every other write. Node's ServerResponse.end() uncorks the socket fully and writes at once;
   * held, the responses a loop iteration completes go out together after it, as Envoy's
   * connections flush, instead of one syscall per response in the middle of the iteration, each
   * waking the client while the gateway still has the iteration's other events to handle.
   */
  endHeld(end: () => void): void;
}

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
export function flushWritesOncePerLoop(socket: Socket): LoopFlush {
  const write = socket.write;
  const uncork = socket.uncork;
  let corked = false;
  let holding = false;
  const flush = (): void => {
    corked = false;
    holding = false;
    // Fully: a held end() left Node's own cork count to this flush.
    while (!socket.destroyed && socket.writableCorked > 0) uncork.call(socket);
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return write.apply(this, args);
  } as Socket["write"];
  // Once a held end() has run, every uncork until the flush already scheduled is left to it:
  // end()'s forced one (corked = 1, then uncork) and the one Node's write() queued on nextTick.
  socket.uncork = function (this: Socket): void {
    if (holding && corked) return;
    uncork.call(this);
  };
  return {
    endHeld(end: () => void): void {
      holding = true;
      try {
        end();
      } finally {
        // Nothing scheduled (end() wrote nothing this iteration): nothing is held either.
        if (!corked) holding = false;
      }
    },
  };
}
