/**
 * The API's Express app, built from already-constructed services (see server.ts): middleware,
 * auth, the routers, and the one error handler.
 */
import express, { Router, type Express, type RequestHandler } from 'express';
import { NotFoundError } from '../common/errors';
import { accessLog } from '../common/access-log';
import { httpErrorHandler } from '../common/http-error-handler';
import { requestIdMiddleware } from '../common/request-context';
import type { Logger } from '../common/logger';
import { routeUpgrades } from '../common/upgrade';
import { requireAuth, requireAdmin } from './auth/authenticate';
import type { LoginService } from './auth/login';
import type { Authenticator } from './auth/passport';
import { sessionMiddleware } from './auth/session';
import { queryToken } from './auth/query-token';
import { authGroup } from './auth/routes';
import type { TokenService } from './auth/tokens';
import { containerGroup, type ContainerRouteDeps } from './containers/routes';
import { FLEET_PREFIXES, fleetGroup, fleetRouter } from './fleet/routes';
import type { FleetUnitService } from './fleet/service';
import type { HealthReport, HealthStatus } from './health';
import { bodyParsers } from './http/body-parsers';
import { buildOpenApiDocument, type OpenApiDocument } from './description/openapi-document';
import { descriptionRoutes, OPENAPI_PATH } from './description/routes';
import { describedRoutes, helpRoutes, registerRoutes, type HealthReport as ResourceHealth, type MountedRoutes, type RouteAccess, type RouteDef, type RouteGroup } from './http/route-table';
import { dashboardRouter } from './dashboard/static';
import type { ApiMetrics } from './metrics/api-metrics';
import { metricsGroup } from './metrics/routes';
import { operationGroup } from './operations/routes';
import type { OperationService } from './operations/service';
import { snapshotGroup } from './snapshots/routes';
import type { SnapshotService } from './snapshots/service';
import type { StoreSessionStore } from './store/session-store';
import { userGroup } from './users/routes';
import type { QuotaService } from './quotas/service';
import type { UserService } from './users/service';
import { volumeGroup } from './volumes/routes';
import { functionGroup } from './functions/routes';
import type { FunctionService } from './functions/service';
import type { VolumeService } from './volumes/service';

/** Form bodies of authenticated routes. */
const FORM_BODY_MAX_BYTES = 64 * 1024;
/** Bodies of the login and token routes, read before the caller is known. */
export const CREDENTIAL_BODY_MAX_BYTES = 64 * 1024;

export interface AppDeps {
  users: UserService;
  tokens: TokenService;
  passport: Authenticator;
  login: LoginService;
  sessionStore: StoreSessionStore;
  sessionSecret: string;
  session: { maxAgeSeconds: number; secureCookie: boolean };
  /** The container service and its actions (exec, streams, terminals, lifecycle operations). */
  containers: ContainerRouteDeps;
  volumes: VolumeService;
  functions: FunctionService;
  snapshots: SnapshotService;
  quotas: QuotaService;
  operations: OperationService;
  fleet: FleetUnitService;
  jsonBodyMaxBytes: number;
  /** The built dashboard, served at / (503 with a hint while it is not built). */
  uiDir: string;
  /** `status`: ok or not ok, for anyone (writes nothing); `detailed`: the report, for admins. */
  health: { status: () => Promise<HealthStatus>; detailed: () => Promise<HealthReport> };
  /** A resource's dependencies, for its GET .../health. */
  resourceHealth: (resource: string) => Promise<ResourceHealth>;
  metrics: ApiMetrics;
  logger: Logger;
  /** The API's version, for its description (package.json's). */
  version?: string;
}

/** Where each route table is served, who may call it, and its error shape: what the app mounts and describes. */
export interface RouteCatalog {
  /** /health, /v1/openapi.json and /docs: open to anyone. */
  description: MountedRoutes;
  auth: MountedRoutes;
  users: MountedRoutes;
  container: MountedRoutes;
  volumes: MountedRoutes;
  functions: MountedRoutes;
  snapshots: MountedRoutes;
  operations: MountedRoutes;
  /** The fleet API's help, examples and health, at /v1/units. */
  units: MountedRoutes;
  /** The fleet API itself, at /fleet/v1 (and /v1-alpha). */
  fleet: MountedRoutes;
  /** GET /metrics (Prometheus), admins only. */
  metrics: MountedRoutes;
}

/** GET /health. Anonymous: ok or not ok. With credentials, authenticated as anywhere else; an admin gets the detailed report. */
function healthHandlers(deps: AppDeps, auth: RequestHandler): RequestHandler[] {
  return [
    (req, res, next) => (req.headers.authorization || req.user ? auth(req, res, next) : next()),
    async (req, res) => {
      if (req.user?.isAdmin) {
        const report = await deps.health.detailed();
        res.status(report.status === 'ok' ? 200 : 503).json(report);
        return;
      }
      const status = await deps.health.status();
      res.status(status === 'ok' ? 200 : 503).json({ status });
    },
  ];
}

/** The auth guard and the body parsers: built once, shared by the catalog's routes and the app's mounts. */
export interface AppGuards {
  auth: RequestHandler;
  /** Bodies of authenticated routes (read once the caller is known). */
  bodies: RequestHandler[];
  /** Bodies of the routes that take credentials, read before anyone is known: small limits. */
  credentialBodies: RequestHandler[];
}

export function appGuards(deps: AppDeps): AppGuards {
  return {
    auth: requireAuth(deps.passport),
    bodies: bodyParsers({ jsonMaxBytes: deps.jsonBodyMaxBytes, formMaxBytes: FORM_BODY_MAX_BYTES }),
    credentialBodies: bodyParsers({ jsonMaxBytes: CREDENTIAL_BODY_MAX_BYTES, formMaxBytes: CREDENTIAL_BODY_MAX_BYTES }),
  };
}

/**
 * Every route table with its mount. The app mounts these entries and GET /v1/openapi.json describes
 * the same entries, so a route cannot be served undescribed. A new group is a new entry here.
 */
export function routeCatalog(deps: AppDeps, guards: AppGuards): RouteCatalog {
  const { auth, bodies, credentialBodies } = guards;
  const health = (resource: string) => () => deps.resourceHealth(resource);
  const described = (group: RouteGroup, access: RouteAccess, groupHealth = health(group.name)): MountedRoutes => ({
    name: group.name,
    description: group.description,
    base: group.base,
    routes: describedRoutes(group, groupHealth),
    access,
    errors: 'drf',
  });
  const plain = (group: RouteGroup, access: RouteAccess): MountedRoutes => ({ name: group.name, description: group.description, base: group.base, routes: group.routes, access, errors: 'drf' });
  const fleet = fleetGroup({ service: deps.fleet, bodyMaxBytes: deps.jsonBodyMaxBytes });
  const version = deps.version ?? '0.0.0';
  let document: OpenApiDocument | undefined;
  const catalog: RouteCatalog = {
    description: {
      name: 'description',
      description: 'The API described by itself: its health, this OpenAPI document and the interactive reference at /docs.',
      base: '',
      routes: descriptionRoutes({
        document: () =>
          (document ??= buildOpenApiDocument(catalogEntries(catalog), {
            title: 'BoatLoad API',
            version,
            description:
              'A self-hosted container API. Authenticate with `Authorization: JWT <token>` (POST /api-token-auth/), `Bearer <token>`, or a session (POST /v1/auth/login; writes carry X-CSRFToken). Errors are Django REST framework bodies, {"detail"} or {"field": ["message"]}; the fleet API (/fleet/v1) answers fleet\'s {"error": {code, message}}.',
          })),
        health: healthHandlers(deps, auth),
      }),
      access: 'public',
      errors: 'drf',
    },
    auth: plain(authGroup({ users: deps.users, tokens: deps.tokens, passport: deps.passport, login: deps.login, secureCookie: deps.session.secureCookie, bodies: { credentials: credentialBodies, authenticated: bodies } }), 'public'),
    users: plain(userGroup(deps.users, deps.quotas), 'admin'),
    container: described(containerGroup(deps.containers), 'user'),
    volumes: described(volumeGroup({ volumes: deps.volumes }), 'user'),
    functions: described(functionGroup({ functions: deps.functions }), 'user'),
    snapshots: described(snapshotGroup({ snapshots: deps.snapshots }), 'user'),
    operations: described(operationGroup({ operations: deps.operations }), 'user'),
    // The fleet API is served at /fleet/v1 and described at /v1/units.
    units: { name: 'units', description: fleet.description, base: '/v1/units', routes: helpRoutes(fleet, { mount: '/v1/units', health: health('units') }), access: 'user', errors: 'drf' },
    fleet: { name: 'fleet', description: fleet.description, base: fleet.base, routes: fleet.routes, access: 'admin', errors: 'fleet' },
    // Its health has nothing to check: the registry is in memory.
    metrics: described(metricsGroup({ registry: deps.metrics.registry }), 'admin', async () => ({ concern: 'metrics', status: 'ok', checks: {} })),
  };
  return catalog;
}

/** The catalog's entries in mount order. */
export function catalogEntries(catalog: RouteCatalog): MountedRoutes[] {
  const entries: Record<keyof RouteCatalog, MountedRoutes> = catalog;
  return Object.values(entries);
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const guards = appGuards(deps);
  const { auth, bodies } = guards;
  const catalog = routeCatalog(deps, guards);
  app.locals.routeCatalog = catalog;
  app.use(requestIdMiddleware({ generate: true }));
  app.use(accessLog(deps.logger));
  app.use(deps.metrics.http.middleware());

  app.use(
    sessionMiddleware({
      store: deps.sessionStore,
      secret: deps.sessionSecret,
      maxAgeSeconds: deps.session.maxAgeSeconds,
      secureCookie: deps.session.secureCookie,
      passport: deps.passport,
    }),
  );

  // Open to anyone: /health (detailed for an admin), the API description and its reference page.
  app.use(plainRouter(catalog.description.routes));
  // The fleet unit API, admins only. It reads its own bodies (after its guards) and answers every
  // error, auth included, in fleet's shape.
  app.use([...FLEET_PREFIXES], fleetRouter({ routes: catalog.fleet.routes, guards: [auth, requireAdmin], logger: deps.logger.child('fleet') }));

  // Bodies are parsed only once the caller is known: every /v1 router below has its guards first,
  // then the parsers (multipart is parsed by the create route itself, after them). An
  // unauthenticated request is answered without its body being read (common/unread-body.ts).

  app.use(plainRouter(catalog.auth.routes));
  app.use(catalog.users.base, auth, requireAdmin, ...bodies, plainRouter(catalog.users.routes));

  // Each resource with its help, examples and health (generated from the same route table).
  app.use(catalog.container.base, queryToken, auth, ...bodies, plainRouter(catalog.container.routes));
  for (const mount of [catalog.volumes, catalog.functions, catalog.snapshots, catalog.operations]) app.use(mount.base, auth, ...bodies, plainRouter(mount.routes));
  app.use(catalog.units.base, auth, plainRouter(catalog.units.routes));
  app.use(catalog.metrics.base, auth, requireAdmin, plainRouter(catalog.metrics.routes));
  // Every other /v1 path needs auth too, then is a 404 (its body is never read).
  app.use('/v1', auth);
  // The dashboard: static files and its client routes, never an API path (those 404 above or below).
  app.use(dashboardRouter({ dir: deps.uiDir }));

  // Not the resource-not-found "Not found.": a client (and the description's test) can tell them apart.
  app.use((_req, _res, next) => next(new NotFoundError(UNKNOWN_ROUTE)));
  app.use(httpErrorHandler(deps.logger));
  // Terminals are WebSocket upgrades: route them through the app, auth and error handler included.
  routeUpgrades(app);
  return app;
}

/** The detail of a 404 for a method and path that no route serves. */
export const UNKNOWN_ROUTE = `No route serves this method and path (the routes: GET ${OPENAPI_PATH}).`;

/** The catalog an app built by createApp mounts. */
export function routeCatalogOf(app: Express): RouteCatalog {
  const catalog: unknown = app.locals.routeCatalog;
  if (!catalog || typeof catalog !== 'object' || !('description' in catalog)) throw new Error('not an app built by createApp: no route catalog');
  return catalog as RouteCatalog;
}

function plainRouter(routes: readonly RouteDef[]): Router {
  const router = Router();
  registerRoutes(router, routes);
  return router;
}
