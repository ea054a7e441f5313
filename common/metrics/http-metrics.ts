/**
 * HTTP request metrics for an Express app (API and satellite alike): a counter and a latency
 * histogram by method, route pattern and status. The route is the Express pattern
 * (`/v1/container/:id/state`), never the raw URL, so the number of series stays bounded; a request
 * that matched no route is counted under `unmatched`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Where registerRoutes (api/http/route-table.ts) leaves the pattern of the route that matched. */
export const ROUTE_PATTERN_LOCAL = 'routePattern';

/** A middleware that records the matched route's pattern (base included) for the metrics. */
export function stampRoutePattern(path: string): RequestHandler {
  return (req, res, next) => {
    res.locals[ROUTE_PATTERN_LOCAL] = req.baseUrl + path;
    next();
  };
}

/** The route pattern a request matched, or `unmatched`. */
export function routeLabel(req: Request, res: Response): string {
  const stamped = res.locals[ROUTE_PATTERN_LOCAL] as unknown;
  let route: string;
  if (typeof stamped === 'string') route = stamped;
  else if (req.route && typeof (req.route as { path?: unknown }).path === 'string') route = req.baseUrl + String((req.route as { path: string }).path);
  else return 'unmatched';
  return route.length > 1 ? route.replace(/\/+$/, '') : route;
}

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class HttpMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: Registry, prefix: string) {
    this.requests = new Counter({ name: `${prefix}_http_requests_total`, help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers: [registry] });
    this.duration = new Histogram({ name: `${prefix}_http_request_duration_seconds`, help: 'Time to answer an HTTP request (to the end of the response), by method, route pattern and status.', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers: [registry] });
  }

  /** Mount first: times every request until its response ends (or the connection closes). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      let recorded = false;
      const record = (): void => {
        if (recorded) return;
        recorded = true;
        const labels = { method: req.method, route: routeLabel(req, res), status: String(res.statusCode) };
        this.requests.inc(labels);
        this.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      };
      res.once('finish', record);
      res.once('close', record);
      next();
    };
  }
}
