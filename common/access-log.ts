/**
 * One access line per request, when its response ends: method, route pattern (never the raw URL,
 * whose query may carry a token), status, duration, request id and user. Mount after
 * requestIdMiddleware so the line carries the id.
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from './logger';
import { routeLabel } from './metrics/http-metrics';

export interface AccessLogOptions {
  /**
   * Requests without a request id at debug (the satellite: the API's background polling, such as
   * the state sync every couple of seconds, would drown the lines of user requests).
   */
  quietWithoutRequestId?: boolean;
}

export function accessLog(logger: Logger, options: AccessLogOptions = {}): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    let logged = false;
    const log = (): void => {
      if (logged) return;
      logged = true;
      const route = routeLabel(req, res);
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      const status = res.writableFinished ? res.statusCode : 0;
      const user = (req as Request & { user?: { username?: string } }).user?.username;
      const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
      const quiet = options.quietWithoutRequestId === true && !requestId;
      (quiet ? logger.debug.bind(logger) : logger.info.bind(logger))(`${req.method} ${route} ${status || 'aborted'} ${durationMs}ms`, {
        method: req.method,
        route,
        status,
        duration_ms: durationMs,
        ...(user ? { user } : {}),
        ...(requestId ? { request_id: requestId } : {}),
      });
    };
    res.once('finish', log);
    res.once('close', log);
    next();
  };
}
