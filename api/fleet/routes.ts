/**
 * fleet v1 routes: read and check HTTP input, call FleetUnitService, answer in fleet's shapes.
 * Routing is strict (a trailing slash is a 404), a known path with another method is a 405, and
 * every error, the guards' included, answers `{"error":{"code":N,"message":"..."}}`.
 */
import express, { Router, type Express, type Request, type RequestHandler } from 'express';
import { BadRequestError, NotFoundError, UnsupportedMediaTypeError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { DISCOVERY_DOCUMENT } from './discovery';
import { fleetErrorHandler, MethodNotAllowedError } from './errors';
import { decodeJson, parseMachineMetadataOps, parseUnitPutBody } from './requests';
import type { FleetUnitService } from './service';

/** Where the routes are mounted: fleet's path and its old alias. */
export const FLEET_PREFIXES: readonly string[] = ['/fleet/v1', '/v1-alpha'];

export interface FleetRouterOptions {
  service: FleetUnitService;
  /** Run before every route (auth on the main port); their errors answer in fleet's shape too. */
  guards?: RequestHandler[];
  bodyMaxBytes: number;
  logger: Logger;
}

/** A query parameter given at most once. */
function singleQuery(req: Request, key: string): string | undefined {
  const value = req.query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`${key} may be given only once`);
  return value;
}

/** fleetctl sends `?alt=json` on every request; no other format exists. */
const acceptAlt: RequestHandler = (req, _res, next) => {
  const alt = singleQuery(req, 'alt');
  if (alt !== undefined && alt !== 'json') throw new BadRequestError(`unsupported alt=${alt}: only json is served`);
  next();
};

/** fleet accepts exactly `Content-Type: application/json` on PUT, nothing else. */
const requireJsonType: RequestHandler = (req, _res, next) => {
  if (req.get('content-type') !== 'application/json') {
    throw new UnsupportedMediaTypeError('only request body of type application/json supported');
  }
  next();
};

const methodNotAllowed =
  (...allowed: string[]): RequestHandler =>
  (req, _res, next) =>
    next(new MethodNotAllowedError(req.method, allowed));

/** The request body as JSON (a missing or broken body is a 400). */
function jsonBody(req: Request): unknown {
  const raw: unknown = req.body;
  return decodeJson(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
}

export function fleetRouter(options: FleetRouterOptions): Router {
  const { service } = options;
  const router = Router({ strict: true, caseSensitive: true });
  const body = express.raw({ type: () => true, limit: options.bodyMaxBytes });
  if (options.guards?.length) router.use(...options.guards);
  router.use(acceptAlt);

  router
    .route('/discovery')
    .get((_req, res) => {
      res.json(DISCOVERY_DOCUMENT);
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/machines')
    .get(async (req, res) => {
      res.json(await service.listMachines(singleQuery(req, 'nextPageToken')));
    })
    .patch(body, async (req, res) => {
      await service.patchMachines(parseMachineMetadataOps(jsonBody(req)));
      res.status(204).end();
    })
    .all(methodNotAllowed('GET', 'PATCH'));

  router
    .route('/units')
    .get((req, res) => {
      res.json(service.listUnits(singleQuery(req, 'nextPageToken')));
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/units/:name')
    .get((req, res) => {
      res.json(service.getUnit(req.params.name as string));
    })
    .put(requireJsonType, body, async (req, res) => {
      const outcome = await service.putUnit({ name: req.params.name as string, body: parseUnitPutBody(jsonBody(req)) });
      res.status(outcome === 'created' ? 201 : 204).end();
    })
    .delete(async (req, res) => {
      await service.deleteUnit(req.params.name as string);
      res.status(204).end();
    })
    .all(methodNotAllowed('GET', 'PUT', 'DELETE'));

  router
    .route('/state')
    .get((req, res) => {
      res.json(service.listStates({ machineID: singleQuery(req, 'machineID'), unitName: singleQuery(req, 'unitName'), pageToken: singleQuery(req, 'nextPageToken') }));
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/state/:name')
    .get((req, res) => {
      res.json(service.getState(req.params.name as string));
    })
    .all(methodNotAllowed('GET'));

  router.use((_req, _res, next) => next(new NotFoundError('not found')));
  router.use(fleetErrorHandler(options.logger));
  return router;
}

/** A server that speaks only the fleet API (unix socket, client-certificate HTTPS): no auth of its own. */
export function createFleetApp(options: Omit<FleetRouterOptions, 'guards'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use([...FLEET_PREFIXES], fleetRouter(options));
  app.use((_req, _res, next) => next(new NotFoundError('not found')));
  app.use(fleetErrorHandler(options.logger));
  return app;
}
