/**
 * The API's Express app, built from already-constructed services (see server.ts): middleware,
 * auth, the routers, and the one error handler.
 */
import express, { Router, type Express } from 'express';
import { NotFoundError } from '../common/errors';
import { httpErrorHandler } from '../common/http-error-handler';
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
import { describedRouter, helpRoutes, registerRoutes, type HealthReport as ResourceHealth, type RouteDef } from './http/route-table';
import { operationGroup } from './operations/routes';
import type { OperationService } from './operations/service';
import { snapshotGroup } from './snapshots/routes';
import type { SnapshotService } from './snapshots/service';
import type { SqliteSessionStore } from './store/session-store';
import { userGroup } from './users/routes';
import type { QuotaService } from './quotas/service';
import type { UserService } from './users/service';
import { volumeGroup } from './volumes/routes';
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
  sessionStore: SqliteSessionStore;
  sessionSecret: string;
  session: { maxAgeSeconds: number; secureCookie: boolean };
  /** The container service and its actions (exec, streams, terminals, lifecycle operations). */
  containers: ContainerRouteDeps;
  volumes: VolumeService;
  snapshots: SnapshotService;
  quotas: QuotaService;
  operations: OperationService;
  fleet: FleetUnitService;
  jsonBodyMaxBytes: number;
  /** `status`: ok or not ok, for anyone (writes nothing); `detailed`: the report, for admins. */
  health: { status: () => Promise<HealthStatus>; detailed: () => Promise<HealthReport> };
  /** A resource's dependencies, for its GET .../health. */
  resourceHealth: (resource: string) => Promise<ResourceHealth>;
  logger: Logger;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(
    sessionMiddleware({
      store: deps.sessionStore,
      secret: deps.sessionSecret,
      maxAgeSeconds: deps.session.maxAgeSeconds,
      secureCookie: deps.session.secureCookie,
      passport: deps.passport,
    }),
  );

  const auth = requireAuth(deps.passport);
  // Anonymous: ok or not ok. A request with credentials is authenticated as anywhere else, and an
  // admin gets the detailed report (satellite URLs, error texts, warnings).
  app.get('/health', (req, res, next) => (req.headers.authorization || req.user ? auth(req, res, next) : next()), async (req, res) => {
    if (req.user?.isAdmin) {
      const report = await deps.health.detailed();
      res.status(report.status === 'ok' ? 200 : 503).json(report);
      return;
    }
    const status = await deps.health.status();
    res.status(status === 'ok' ? 200 : 503).json({ status });
  });
  // The fleet unit API, admins only. It reads its own bodies (after its guards) and answers every
  // error, auth included, in fleet's shape.
  app.use([...FLEET_PREFIXES], fleetRouter({ service: deps.fleet, guards: [auth, requireAdmin], bodyMaxBytes: deps.jsonBodyMaxBytes, logger: deps.logger.child('fleet') }));

  // Bodies are parsed only once the caller is known: every /v1 router below has its guards first,
  // then the parsers (multipart is parsed by the create route itself, after them). An
  // unauthenticated request is answered without its body being read (common/unread-body.ts).
  const bodies = bodyParsers({ jsonMaxBytes: deps.jsonBodyMaxBytes, formMaxBytes: FORM_BODY_MAX_BYTES });
  // The routes that take credentials in the body read it before anyone is known: small limits.
  const credentialBodies = bodyParsers({ jsonMaxBytes: CREDENTIAL_BODY_MAX_BYTES, formMaxBytes: CREDENTIAL_BODY_MAX_BYTES });

  app.use(plainRouter(authGroup({ users: deps.users, tokens: deps.tokens, passport: deps.passport, login: deps.login, secureCookie: deps.session.secureCookie, bodies: { credentials: credentialBodies, authenticated: bodies } }).routes));
  app.use('/v1/users', auth, requireAdmin, ...bodies, plainRouter(userGroup(deps.users, deps.quotas).routes));

  // Each resource with its help, examples and health (generated from the same route table).
  const health = (resource: string) => () => deps.resourceHealth(resource);
  app.use('/v1/container', queryToken, auth, ...bodies, describedRouter(containerGroup(deps.containers), health('container')));
  app.use('/v1/volumes', auth, ...bodies, describedRouter(volumeGroup({ volumes: deps.volumes }), health('volumes')));
  app.use('/v1/snapshots', auth, ...bodies, describedRouter(snapshotGroup({ snapshots: deps.snapshots }), health('snapshots')));
  app.use('/v1/operations', auth, ...bodies, describedRouter(operationGroup({ operations: deps.operations }), health('operations')));
  // The fleet API is served at /fleet/v1 and described at /v1/units.
  const units = fleetGroup({ service: deps.fleet, bodyMaxBytes: deps.jsonBodyMaxBytes });
  app.use('/v1/units', auth, plainRouter(helpRoutes(units, { mount: '/v1/units', health: health('units') })));
  // Every other /v1 path needs auth too, then is a 404 (its body is never read).
  app.use('/v1', auth);

  app.use((_req, _res, next) => next(new NotFoundError()));
  app.use(httpErrorHandler(deps.logger));
  // Terminals are WebSocket upgrades: route them through the app, auth and error handler included.
  routeUpgrades(app);
  return app;
}

function plainRouter(routes: readonly RouteDef[]): Router {
  const router = Router();
  registerRoutes(router, routes);
  return router;
}
