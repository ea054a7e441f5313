/**
 * The satellite's HTTP API. Only the BoatLoad API talks to it; every request must carry a valid
 * signature (common/signing.ts), checked before the body is read (signed-body.ts). Routes are thin: they read the request and call HostEngine,
 * ContainerFiles or MetricsReader.
 */
import express, { type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BadRequestError, NotFoundError, ValidationError } from '../common/errors';
import { accessLog } from '../common/access-log';
import { httpErrorHandler } from '../common/http-error-handler';
import { requestIdMiddleware } from '../common/request-context';
import type { Logger } from '../common/logger';
import { CONTAINER_NAME, type ContainerEvent, type CreateContainerRequest, type MachineInfo, type SatelliteHealth } from '../common/satellite-protocol';
import type { SignatureVerifier } from '../common/signing';
import { routeUpgrades } from '../common/upgrade';
import type { ContainerFiles } from './container-files';
import { engineError } from './engine-errors';
import { openContainerEvents, writeEventFeed } from './engine-events';
import type { HostEngine } from './host-engine';
import type { LogStreamName } from './log-demux';
import type { MetricsReader } from './metrics';
import { SatelliteMetrics } from './satellite-metrics';
import { metricsHandler } from '../common/metrics/exposition';
import { registerContainerSessionRoutes } from './container-session-routes';
import { ContainerSessions } from './container-sessions';
import { registerEngineObjectRoutes } from './engine-object-routes';
import { EngineObjects } from './engine-objects';
import { signedBody } from './signed-body';
import { DiskUsage } from './disk-usage';
import { registerSwarmProxyRoutes, type EngineEndpoint } from './swarm-proxy';
import { registerWarmRoutes } from './warm-routes';
import type { WarmMembers } from './warm-members';

export interface SatelliteAppDeps {
  engine: HostEngine;
  files: ContainerFiles;
  metrics: MetricsReader;
  verifier: SignatureVerifier;
  machine: () => Promise<MachineInfo>;
  logger: Logger;
  /** Largest request body (create requests carry the script). */
  maxBodyBytes: number;
  /** On a Swarm manager: forward the swarm backend's calls to this engine (SATELLITE_SWARM_PROXY). */
  swarmProxy?: EngineEndpoint;
  /** The satellite's Prometheus metrics (GET /metrics); default: a registry of its own. */
  instruments?: SatelliteMetrics;
  /** Warm pool members (null or absent: no script directory, no pool). */
  warm?: WarmMembers | null;
}

function containerName(req: Request): string {
  const name = String(req.params.name);
  if (!CONTAINER_NAME.test(name)) throw new BadRequestError('Invalid container name.');
  return name;
}

function flag(value: unknown): boolean {
  return value === '1' || value === 'true';
}

function optionalInt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw ValidationError.field(field, 'A whole number is required.');
  return Number(value);
}

/** Streams a readable into the response; a failure mid-way cuts the connection. */
async function streamTo(res: Response, source: NodeJS.ReadableStream): Promise<void> {
  try {
    await pipeline(source, res);
  } catch {
    res.destroy();
  }
}

export function createSatelliteApp(deps: SatelliteAppDeps): express.Express {
  const { files, metrics, logger } = deps;
  const instruments = deps.instruments ?? new SatelliteMetrics();
  const engine = instruments.timed(deps.engine);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The API's X-Request-Id (when it sent one) is in every line this request logs.
  app.use(requestIdMiddleware({ generate: false }));
  app.use(accessLog(logger.child('http'), { quietWithoutRequestId: true }));
  app.use(instruments.http.middleware());

  // Who is asking first (the signature over the headers), then the body, checked against its digest.
  app.use(signedBody({ verifier: deps.verifier, maxBodyBytes: deps.maxBodyBytes, logger }));

  app.get('/health', async (_req, res) => {
    const health: SatelliteHealth = { status: 'ok', engine: 'ok' };
    try {
      await engine.ping();
    } catch (err) {
      health.status = 'unavailable';
      health.engine = (err as Error).message;
    }
    res.status(health.status === 'ok' ? 200 : 503).json(health);
  });

  // The engine's container events, one JSON line each, until either side goes away.
  app.get('/events', async (_req, res) => {
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    let events: AsyncGenerator<ContainerEvent>;
    try {
      events = await openContainerEvents(engine.docker, closed.signal);
    } catch (err) {
      throw engineError(err, 'events');
    }
    res.status(200).type('application/x-ndjson').set('Cache-Control', 'no-store');
    await writeEventFeed({ events, out: res, logger });
  });

  // Signed like every route (the check above): Prometheus scrapes SATELLITE_METRICS_PORT instead.
  app.get('/metrics', metricsHandler(instruments.registry));

  app.get('/machine', async (_req, res) => {
    res.json(await deps.machine());
  });

  app.get('/containers', async (req, res) => {
    const labels = ([] as unknown[]).concat(req.query.label ?? []).map(String);
    res.json(await engine.list(labels));
  });

  app.post('/containers', async (req, res) => {
    const request = req.body as CreateContainerRequest;
    if (!request || typeof request !== 'object' || !request.spec || typeof request.spec.name !== 'string') {
      throw new BadRequestError('A container spec is required.');
    }
    res.status(201).json(await engine.create(request));
  });

  app.get('/containers/:name', async (req, res) => {
    res.json(await engine.inspect(containerName(req)));
  });

  app.post('/containers/:name/start', async (req, res) => {
    res.json(await engine.start(containerName(req)));
  });

  app.post('/containers/:name/stop', async (req, res) => {
    await engine.stop(containerName(req), optionalInt(req.query.timeout, 'timeout') ?? 10);
    res.status(204).end();
  });

  app.delete('/containers/:name', async (req, res) => {
    const name = containerName(req);
    const inspected = await engine.inspect(name).catch(() => null);
    await engine.remove(name);
    if (inspected) metrics.forget(inspected.engineId);
    res.status(204).end();
  });

  app.get('/containers/:name/logs', instruments.streamBytes('logs'), async (req, res) => {
    const name = containerName(req);
    const streams = new Set<LogStreamName>();
    if (flag(req.query.stdout)) streams.add('stdout');
    if (flag(req.query.stderr)) streams.add('stderr');
    const output = await engine.logs(name, { streams, follow: flag(req.query.follow), tail: optionalInt(req.query.tail, 'tail') });
    res.status(200).type('text/plain; charset=utf-8');
    res.on('close', () => output.destroy());
    await streamTo(res, output);
  });

  app.get('/containers/:name/metrics', async (req, res) => {
    res.json(await metrics.read(engine.container(containerName(req))));
  });

  app.get('/containers/:name/changes', async (req, res) => {
    const name = containerName(req);
    await engine.inspect(name);
    res.json(await files.changes(engine.container(name)));
  });

  app.get('/containers/:name/files', async (req, res) => {
    const name = containerName(req);
    await engine.inspect(name);
    res.json(await files.files(engine.container(name)));
  });

  app.get('/containers/:name/file', instruments.streamBytes('file'), async (req, res) => {
    const name = containerName(req);
    const path = req.query.path;
    if (typeof path !== 'string' || !path.startsWith('/')) throw ValidationError.field('path', 'An absolute path is required.');
    await engine.inspect(name);
    const file = await files.openFile(engine.container(name), path);
    res.status(200).set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(file.size), 'X-Boatload-Path': encodeURI(file.path) });
    res.on('close', () => file.stream.destroy());
    await streamTo(res, file.stream);
  });

  app.get('/containers/:name/archive', instruments.streamBytes('archive'), async (req, res) => {
    const name = containerName(req);
    await engine.inspect(name);
    const gzip = flag(req.query.gzip);
    res.status(200).type(gzip ? 'application/gzip' : 'application/x-tar');
    let out: NodeJS.WritableStream & import('node:stream').Writable = res;
    if (gzip) {
      const compressor = createGzip();
      pipeline(compressor, res).catch(() => res.destroy());
      out = compressor;
    }
    try {
      await files.writeArchive(engine.container(name), out);
    } catch (err) {
      logger.warn(`archive of ${name} failed mid-stream: ${(err as Error).message}`);
      res.destroy();
    }
  });

  app.use('/containers/:name/output', instruments.streamBytes('output'));
  const sessions = instruments.timed(new ContainerSessions({ docker: engine.docker, logger, reports: deps.warm?.reports }), { prefix: 'sessions', untimed: ['runTerminal'] });
  registerContainerSessionRoutes(app, { sessions, logger });
  registerEngineObjectRoutes(app, {
    objects: instruments.timed(new EngineObjects({ docker: engine.docker }), { prefix: 'objects' }),
    usage: instruments.timed(new DiskUsage({ docker: engine.docker }), { prefix: 'usage' }),
  });
  registerWarmRoutes(app, deps.warm ? instruments.timed(deps.warm, { prefix: 'warm' }) : null);
  if (deps.swarmProxy) registerSwarmProxyRoutes(app, { engine: deps.swarmProxy, logger });

  app.use((_req, _res, next) => next(new NotFoundError('Unknown satellite route.')));
  app.use(httpErrorHandler(logger));
  // Terminals are WebSocket upgrades: route them through the app (signature check included).
  routeUpgrades(app);
  return app;
}
