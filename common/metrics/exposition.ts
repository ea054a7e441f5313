/** Serving a registry in Prometheus's text format: as a route, or on a listener of its own. */
import type { RequestHandler } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** `GET /metrics`: the registry in the text exposition format. */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req, res) => {
    const text = await registry.metrics();
    res.status(200).set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(text);
  };
}

export interface MetricsListener {
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * A listener that answers `GET /metrics` without authentication (for Prometheus on a private
 * interface) and 404 to everything else. Only the registry is reachable through it.
 */
export async function startMetricsListener(options: { host: string; port: number; registry: Registry }): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"detail":"Not found."}');
      return;
    }
    options.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': options.registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"detail":"Internal server error."}'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
