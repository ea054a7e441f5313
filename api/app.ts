/**
 * The API's Express app, built from already-constructed services (see server.ts): middleware,
 * auth, the routers, and the one error handler.
 */
import express, { type Express } from 'express';
import { NotFoundError } from '../common/errors';
import { httpErrorHandler } from '../common/http-error-handler';
import type { Logger } from '../common/logger';
import { routeUpgrades } from '../common/upgrade';
import { requireAuth, requireAdmin } from './auth/authenticate';
import type { LoginThrottle } from './auth/login-throttle';
import type { Authenticator } from './auth/passport';
import { sessionMiddleware } from './auth/session';
import { authRoutes } from './auth/routes';
import type { TokenService } from './auth/tokens';
import type { CreateRequestLimits } from './containers/create-request';
import { containerRoutes } from './containers/routes';
import type { ContainerService } from './containers/service';
import { FLEET_PREFIXES, fleetRouter } from './fleet/routes';
import type { FleetUnitService } from './fleet/service';
import type { HealthReport } from './health';
import type { Sandbox } from './sandbox';
import type { SqliteSessionStore } from './store/session-store';
import { userRoutes } from './users/routes';
import type { UserService } from './users/service';

export interface AppDeps {
  users: UserService;
  tokens: TokenService;
  passport: Authenticator;
  loginThrottle: LoginThrottle;
  sessionStore: SqliteSessionStore;
  sessionSecret: string;
  session: { maxAgeSeconds: number; secureCookie: boolean };
  containers: ContainerService;
  containerLimits: CreateRequestLimits;
  fleet: FleetUnitService;
  /** Exec, stream, terminal, operations, snapshots, volumes, per-concern help (api/sandbox/). */
  sandbox: Sandbox;
  jsonBodyMaxBytes: number;
  health: () => Promise<HealthReport>;
  logger: Logger;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/health', async (_req, res) => {
    const report = await deps.health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });

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
  // The fleet unit API, admins only. Mounted before the body parsers: it reads its own bodies and
  // answers every error, auth included, in fleet's shape.
  app.use([...FLEET_PREFIXES], fleetRouter({ service: deps.fleet, guards: [auth, requireAdmin], bodyMaxBytes: deps.jsonBodyMaxBytes, logger: deps.logger.child('fleet') }));

  app.use(express.json({ limit: deps.jsonBodyMaxBytes, strict: false }));
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 64 }));

  app.use(authRoutes({ users: deps.users, tokens: deps.tokens, passport: deps.passport, throttle: deps.loginThrottle, secureCookie: deps.session.secureCookie }));

  app.use('/v1/users', auth, requireAdmin, userRoutes(deps.users));
  const containers = containerRoutes({ service: deps.containers, limits: deps.containerLimits, wait: deps.sandbox.createWaiter });
  // The sandbox routes first: they include /help, /examples and /health, which /:id would take.
  app.use('/v1/container', deps.sandbox.queryToken, auth, deps.sandbox.routers.container(containers), containers);
  deps.sandbox.mount(app, auth);
  // Every other /v1 path needs auth too, then is a 404.
  app.use('/v1', auth);

  app.use((_req, _res, next) => next(new NotFoundError()));
  app.use(httpErrorHandler(deps.logger));
  // Terminals are WebSocket upgrades: route them through the app, auth and error handler included.
  routeUpgrades(app);
  return app;
}
