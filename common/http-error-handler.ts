/**
 * The one place where errors become HTTP answers, for the API and the satellite alike:
 * typed HttpErrors keep their status and body; body-parser and multer errors become 4xx;
 * anything else is a logged 500. A failure after a stream has started cuts the connection, so
 * the client sees a truncated response rather than a body that looks complete. A refusal given
 * before the request's body was read does not read it either (common/unread-body.ts).
 */
import type { ErrorRequestHandler } from 'express';
import { HttpError, TooManyRequestsError, type ErrorBody } from './errors';
import type { Logger } from './logger';
import { closeIfBodyUnread } from './unread-body';

interface ParserError {
  type?: string;
  status?: number;
  code?: string;
  field?: string;
  message?: string;
}

const MULTER_FIELD_LIMITS = new Set(['LIMIT_PART_COUNT', 'LIMIT_FIELD_KEY', 'LIMIT_FIELD_VALUE', 'LIMIT_FIELD_COUNT', 'LIMIT_FILE_COUNT', 'LIMIT_UNEXPECTED_FILE']);

/** SQLite result codes that mean the store cannot take writes now (disk full, read-only, I/O). */
const STORE_UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL)/;

export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  const e = err as ParserError;
  if (e.code && STORE_UNAVAILABLE.test(e.code)) {
    return new HttpError(503, { detail: `The store is unavailable (${e.code}); nothing was changed. Try again later.` });
  }
  if (e.type === 'entity.too.large' || e.code === 'LIMIT_FILE_SIZE') {
    return new HttpError(413, { detail: 'Request body is too large.' });
  }
  if (e.type === 'entity.parse.failed') return new HttpError(400, { detail: `JSON parse error - ${e.message ?? 'invalid JSON'}` });
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new HttpError(415, { detail: e.message ?? 'Unsupported encoding.' });
  if (e.code && MULTER_FIELD_LIMITS.has(e.code)) {
    return new HttpError(400, { [e.field ?? 'non_field_errors']: [e.message ?? 'Invalid multipart field.'] });
  }
  if (e.message === 'Unexpected end of form' || e.message === 'Multipart: Boundary not found' || e.message === 'Malformed part header') {
    return new HttpError(400, { detail: `Multipart parse error - ${e.message}` });
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, { detail: e.message ?? 'Bad request.' });
  }
  return null;
}

/**
 * A `{detail}` body repeats the client's own X-Request-Id as `request_id` (the header always carries
 * it). Only when the client sent one: clients that compare bodies exactly see no change unless they
 * opt in; field-error bodies (`{field: [messages]}`) never get it, where it would read as a field.
 */
function withRequestId(body: ErrorBody, locals: Record<string, unknown>): ErrorBody | { detail: string; request_id: string } {
  if (!locals.clientRequestId || typeof locals.requestId !== 'string' || typeof body.detail !== 'string') return body;
  return { ...body, detail: body.detail, request_id: locals.requestId };
}

export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = toHttpError(err);
    // The path only: a query may carry a token (?token= for EventSource).
    const where = `${req.method} ${req.path}`;
    if (res.headersSent) {
      logger.warn(`${where} failed mid-response: ${(err as Error).message}`);
      res.destroy();
      return;
    }
    closeIfBodyUnread(req, res);
    if (known) {
      if (known instanceof TooManyRequestsError) res.set('Retry-After', String(known.retryAfterSeconds));
      if (known.status >= 500) logger.warn(`${where} → ${known.status}: ${known.message}`);
      res.status(known.status).json(withRequestId(known.body, res.locals));
      return;
    }
    logger.error(`${where} → 500: ${(err as Error).stack ?? String(err)}`);
    res.status(500).json(withRequestId({ detail: 'Internal server error.' }, res.locals));
  };
}
