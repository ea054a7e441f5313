/**
 * fleet v1 routes: read and check HTTP input, call FleetUnitService, answer in fleet's shapes.
 * Routing is strict (a trailing slash is a 404), a known path with another method is a 405, and
 * every error, the guards' included, answers `{"error":{"code":N,"message":"..."}}`.
 */
import express, { Router, type Express, type Request, type RequestHandler } from 'express';
import { BadRequestError, NotFoundError, UnsupportedMediaTypeError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { registerRoutes, type FieldDoc, type RouteDef, type RouteGroup } from '../http/route-table';
import { DISCOVERY_DOCUMENT } from './discovery';
import { fleetErrorHandler, MethodNotAllowedError } from './errors';
import { decodeJson, parseMachineMetadataOps, parseUnitPutBody } from './requests';
import type { FleetUnitService } from './service';

/** Where the routes are mounted: fleet's path and its old alias. */
export const FLEET_PREFIXES: readonly string[] = ['/fleet/v1', '/v1-alpha'];

export interface FleetRouterOptions {
  /** The fleet route table (fleetGroup's routes), built once by whoever also describes it. */
  routes: readonly RouteDef[];
  /** Run before every route (auth on the main port); their errors answer in fleet's shape too. */
  guards?: RequestHandler[];
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

/** fleet's v1 API as a route table (described at /v1/units/help, served at FLEET_PREFIXES). */
export function fleetGroup(input: { service: FleetUnitService; bodyMaxBytes: number }): RouteGroup {
  const { service } = input;
  const body = express.raw({ type: () => true, limit: input.bodyMaxBytes });
  const name: FieldDoc = { name: 'name', type: 'string', description: 'Unit name, e.g. web.service or web@1.service.' };
  return {
    name: 'units',
    base: FLEET_PREFIXES[0],
    description: "Units: systemd-style unit files scheduled on the cluster, through fleet's v1 HTTP API (fleetctl --endpoint works). Admins only; errors in fleet's shape {\"error\":{\"code\",\"message\"}}. Also at /v1-alpha.",
    idVariable: 'UNIT',
    routes: [
      {
        method: 'get',
        path: '/discovery',
        summary: "fleet's discovery document.",
        answer: '200',
        handlers: [
          (_req, res) => {
            res.json(DISCOVERY_DOCUMENT);
          },
        ],
      },
      {
        method: 'get',
        path: '/machines',
        summary: 'Machines with their metadata.',
        query: [{ name: 'nextPageToken', type: 'string', description: 'Paging.' }],
        answer: '200 {machines: [{id, primaryIP, metadata}], nextPageToken?}',
        handlers: [
          async (req, res) => {
            res.json(await service.listMachines(singleQuery(req, 'nextPageToken')));
          },
        ],
      },
      {
        method: 'patch',
        path: '/machines',
        summary: 'Edit machine metadata (JSON patch operations).',
        answer: '204',
        handlers: [
          body,
          async (req, res) => {
            await service.patchMachines(parseMachineMetadataOps(jsonBody(req)));
            res.status(204).end();
          },
        ],
      },
      {
        method: 'get',
        path: '/units',
        summary: 'All units.',
        answer: '200 {units: [...], nextPageToken?}',
        handlers: [
          async (req, res) => {
            res.json(await service.listUnits(singleQuery(req, 'nextPageToken')));
          },
        ],
      },
      {
        method: 'get',
        path: '/units/:name',
        summary: 'One unit.',
        query: [name],
        answer: '200 {name, options, desiredState, currentState, machineID}',
        handlers: [
          async (req, res) => {
            res.json(await service.getUnit(String(req.params.name)));
          },
        ],
      },
      {
        method: 'put',
        path: '/units/:name',
        summary: 'Create a unit (options) or change its desiredState.',
        body: [
          { name: 'desiredState', type: 'inactive|loaded|launched', description: 'What it should be.' },
          { name: 'options', type: '[{section, name, value}]', description: 'The unit file, for a new unit.' },
        ],
        answer: '201 created, 204 changed',
        example: { body: { desiredState: 'launched', options: [{ section: 'Service', name: 'ExecStart', value: '/usr/bin/docker run --rm boatload/base:latest sleep 60' }] } },
        handlers: [
          requireJsonType,
          body,
          async (req, res) => {
            const outcome = await service.putUnit({ name: String(req.params.name), body: parseUnitPutBody(jsonBody(req)) });
            res.status(outcome === 'created' ? 201 : 204).end();
          },
        ],
      },
      {
        method: 'delete',
        path: '/units/:name',
        summary: 'Destroy a unit.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await service.deleteUnit(String(req.params.name));
            res.status(204).end();
          },
        ],
      },
      {
        method: 'get',
        path: '/state',
        summary: 'Unit states per machine.',
        query: [
          { name: 'machineID', type: 'string', description: 'Filter.' },
          { name: 'unitName', type: 'string', description: 'Filter.' },
        ],
        answer: '200 {states: [...]}',
        handlers: [
          async (req, res) => {
            res.json(await service.listStates({ machineID: singleQuery(req, 'machineID'), unitName: singleQuery(req, 'unitName'), pageToken: singleQuery(req, 'nextPageToken') }));
          },
        ],
      },
      {
        method: 'get',
        path: '/state/:name',
        summary: "One unit's state.",
        answer: '200',
        handlers: [
          async (req, res) => {
            res.json(await service.getState(String(req.params.name)));
          },
        ],
      },
    ],
  };
}

/** The fleet API's router: its table, 405 for a known path's other methods, errors in fleet's shape. */
export function fleetRouter(options: FleetRouterOptions): Router {
  const router = Router({ strict: true, caseSensitive: true });
  if (options.guards?.length) router.use(...options.guards);
  router.use(acceptAlt);
  registerRoutes(router, options.routes, { otherMethods: (allowed) => methodNotAllowed(...allowed) });
  router.use((_req, _res, next) => next(new NotFoundError('not found')));
  router.use(fleetErrorHandler(options.logger));
  return router;
}

/** A server that speaks only the fleet API (unix socket, client-certificate HTTPS): no auth of its own. */
export function createFleetApp(options: { service: FleetUnitService; bodyMaxBytes: number; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use([...FLEET_PREFIXES], fleetRouter({ routes: fleetGroup(options).routes, logger: options.logger }));
  app.use((_req, _res, next) => next(new NotFoundError('not found')));
  app.use(fleetErrorHandler(options.logger));
  return app;
}
