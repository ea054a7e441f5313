/** `GET /metrics`: the API's metrics in Prometheus's text format, for admins (app.ts guards it). */
import type { Registry } from 'prom-client';
import { metricsHandler } from '../../common/metrics/exposition';
import type { RouteGroup } from '../http/route-table';

export function metricsGroup(deps: { registry: Registry }): RouteGroup {
  return {
    name: 'metrics',
    base: '/metrics',
    description:
      'Prometheus metrics of this API process: HTTP requests by route pattern and status, containers and units by state, scheduler convergence, satellite reachability and call latency, streamed bytes, login failures and throttles. Admins only; BOATLOAD_METRICS_PORT serves them without authentication on a separate listener.',
    idVariable: 'ID',
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Every metric, in the Prometheus text exposition format.',
        answer: '200 text/plain; version=0.0.4',
        handlers: [metricsHandler(deps.registry)],
      },
    ],
  };
}
