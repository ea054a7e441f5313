/**
 * fleet's error shape, `{"error":{"code":N,"message":"..."}}` (fleetctl prints it as
 * `googleapi: Error N: message`), for every answer of the fleet routes: BoatLoad's typed errors,
 * body-parser errors, and 401/403 from the auth guards all keep their status.
 */
import type { ErrorRequestHandler } from 'express';
import { errorText, HttpError } from '../../common/errors';
import { toHttpError } from '../../common/http-error-handler';
import type { Logger } from '../../common/logger';
import { closeIfBodyUnread } from '../../common/unread-body';

export interface FleetErrorBody {
  error: { code: number; message: string };
}

/** 405: the route exists, the method does not. */
export class MethodNotAllowedError extends HttpError {
  constructor(
    method: string,
    readonly allowed: readonly string[],
  ) {
    super(405, { detail: `method ${method} is not allowed here; use ${allowed.join(' or ')}` });
  }
}

export function fleetErrorBody(err: HttpError): FleetErrorBody {
  return { error: { code: err.status, message: errorText(err) } };
}

export function fleetErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    closeIfBodyUnread(req, res);
    const known = toHttpError(err);
    if (!known) {
      logger.error(`${req.method} ${req.originalUrl} → 500: ${(err as Error).stack ?? String(err)}`);
      res.status(500).json({ error: { code: 500, message: 'internal server error' } } satisfies FleetErrorBody);
      return;
    }
    if (known.status >= 500) logger.warn(`${req.method} ${req.originalUrl} → ${known.status}: ${known.message}`);
    if (known instanceof MethodNotAllowedError) res.set('Allow', known.allowed.join(', '));
    res.status(known.status).json(fleetErrorBody(known));
  };
}
