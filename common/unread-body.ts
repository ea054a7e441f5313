/**
 * What happens to a request body nobody read, when the answer (a refusal) goes out before it: a
 * small body whose length is declared is drained (Node reads it off the wire after the answer),
 * so the connection stays reusable; a larger or chunked body is never read: the answer says
 * `Connection: close` and Node closes the socket once the answer is written. Without that, Node
 * would keep the half-read request open (up to its requestTimeout) with the client still sending.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The most a refused request may still send and keep its connection. */
export const UNREAD_BODY_DRAIN_MAX_BYTES = 64 * 1024;

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
}
