/**
 * The request id of the work in progress, carried through async calls by AsyncLocalStorage so that
 * log lines and outgoing satellite calls can name it without threading a parameter everywhere.
 * (The storage holds no state of its own: each request's context lives only in its async chain,
 * so several APIs in one process do not see each other's ids.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A client's id is taken only if it is a sane token: 1-128 characters of [A-Za-z0-9._-]. */
export function saneRequestId(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(value) ? value : null;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `work` with no request id (background work a request merely started, such as a feed). */
export function outsideRequest<T>(work: () => T): T {
  return storage.exit(work);
}

/**
 * Stops carrying request ids until the next request starts (its `run` enables the storage again). For
 * a process done serving: Node 20 keeps an enabled AsyncLocalStorage, and its cost on every async
 * call, until it is disabled; jest's one process loads this module once per test file.
 */
export function endRequestContexts(): void {
  storage.disable();
}

/**
 * Takes the request's X-Request-Id (or makes one when `generate`), echoes it in the response header,
 * keeps it in res.locals.requestId and runs the rest of the request in its context.
 */
export function requestIdMiddleware(options: { generate: boolean }): RequestHandler {
  return (req, res, next) => {
    const fromClient = saneRequestId(req.get(REQUEST_ID_HEADER));
    const requestId = fromClient ?? (options.generate ? randomUUID() : null);
    if (!requestId) return next();
    res.locals.requestId = requestId;
    // Error bodies repeat only an id the client chose (common/http-error-handler.ts).
    res.locals.clientRequestId = fromClient !== null;
    res.set(REQUEST_ID_HEADER, requestId);
    storage.run({ requestId }, next);
  };
}
