/**
 * What happens to a request body nobody read, when the answer (a refusal) goes out before it.
 * - A small body whose length is declared (at most UNREAD_BODY_DRAIN_MAX_BYTES) is drained: Node
 *   reads it off the wire after the answer, and the connection stays reusable.
 * - A larger or chunked body is never read in full: the answer says `Connection: close`, and the
 *   close lingers: the answer is followed by a FIN, then what the client still sends is read and
 *   dropped for at most UNREAD_BODY_LINGER (bytes or time) before the socket is destroyed.
 * Without the close, Node keeps the half-read request open (up to its requestTimeout) and reads
 * the whole body if the client sends it; without the linger, a client still sending meets a reset
 * and often loses the answer (Node's own client reports EPIPE instead of the 401).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The most a refused request may still send and keep its connection. */
export const UNREAD_BODY_DRAIN_MAX_BYTES = 64 * 1024;

/** How much more of a refused large body is read (and dropped) after the answer, at most. */
export const UNREAD_BODY_LINGER = { maxBytes: 1024 * 1024, maxMs: 2000 };

/** Whether the request declares a body (a length above zero, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Call before answering a request whose body may not have been read to its end. */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || !hasBody(req) || res.headersSent) return;
  const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length']) : NaN;
  if (Number.isSafeInteger(declared) && declared <= UNREAD_BODY_DRAIN_MAX_BYTES) return;
  res.setHeader('Connection', 'close');
  lingerOnClose(req, req.socket);
}

/**
 * Node's HTTP server ends a `Connection: close` socket with socket.destroySoon() once the answer is
 * written, which destroys it as soon as the FIN is out. This socket's destroySoon is replaced by a
 * lingering close: FIN, then at most UNREAD_BODY_LINGER of the body read and dropped (Node's server
 * dumps the unread request itself), then destroy.
 */
function lingerOnClose(req: IncomingMessage, socket: Socket): void {
  socket.destroySoon = () => {
    socket.end();
    let dropped = 0;
    const stop = (): void => {
      clearTimeout(timer);
      req.off('data', count);
      socket.destroy();
    };
    const count = (chunk: Buffer): void => {
      dropped += chunk.length;
      if (dropped > UNREAD_BODY_LINGER.maxBytes) stop();
    };
    const timer = setTimeout(stop, UNREAD_BODY_LINGER.maxMs);
    timer.unref();
    req.on('data', count);
    req.once('end', stop);
    // A reader that stopped part-way (a body over its limit) left the request paused.
    req.resume();
    socket.once('close', () => clearTimeout(timer));
  };
}
