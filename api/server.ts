/**
 * Builds the API's object graph once, from its config: store, scheduler, satellite client,
 * services, app. Nothing here is a module-level singleton; tests build as many as they like.
 */
import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/logger';
import { LocalBackend } from '../units/scheduler/local-backend';
import { Scheduler } from '../units/scheduler/scheduler';
import { createApp } from './app';
import { LoginThrottle } from './auth/login-throttle';
import { createPassport } from './auth/passport';
import { TokenService } from './auth/tokens';
import type { ApiConfig } from './config';
import { ContainerService, CONTAINER_LABELS } from './containers/service';
import { workloadResolver } from './containers/workloads';
import { checkHealth, DEFAULT_PASSWORD_WARNING } from './health';
import { SatelliteClient } from './satellite/client';
import { SingleSatelliteDirectory } from './satellite/directory';
import { ContainerRepository } from './store/containers';
import { openDatabase, type Db } from './store/database';
import { SqliteSessionStore } from './store/session-store';
import { SettingsRepository } from './store/settings';
import { SqliteUnitStore } from './store/units';
import { UserRepository } from './store/users';
import { UserService } from './users/service';

export interface ApiServer {
  app: Express;
  db: Db;
  scheduler: Scheduler;
  users: UserService;
  satellite: SatelliteClient;
  instanceId: string;
  /** Listens, then (in the background) reconciles units with the engine and starts the state sync. */
  listen(): Promise<Server>;
  close(): Promise<void>;
}

export function buildApiServer(config: ApiConfig, logger: Logger): ApiServer {
  const db = openDatabase(config.dbPath);
  const settings = new SettingsRepository(db);
  const secret = (): string => randomBytes(48).toString('hex');
  const instanceId = settings.getOrCreate('instance_id', () => randomBytes(8).toString('hex'));
  const jwtSecret = config.jwt.secret ?? settings.getOrCreate('jwt_secret', secret);
  const sessionSecret = config.session.secret ?? settings.getOrCreate('session_secret', secret);

  const satellite = new SatelliteClient({ url: config.satellite.url, secret: config.satellite.secret, timeoutMs: config.satellite.timeoutMs, label: `satellite at ${config.satellite.url}` });
  const satellites = new SingleSatelliteDirectory(satellite);
  const containerRepository = new ContainerRepository(db);
  const scheduler = new Scheduler({
    store: new SqliteUnitStore(db),
    backend: new LocalBackend({ agent: satellite, instanceLabel: `${CONTAINER_LABELS.instance}=${instanceId}`, stopTimeoutSeconds: config.containers.stopTimeoutSeconds }),
    workloadOf: workloadResolver(containerRepository),
    logger: logger.child('scheduler'),
  });
  const containers = new ContainerService({
    containers: containerRepository,
    scheduler,
    satellites,
    instanceId,
    scriptMaxBytes: config.limits.scriptMaxBytes,
    downloadTimeoutMs: config.limits.downloadTimeoutMs,
    downloadAddresses: config.downloadAddresses,
    defaultImage: config.containers.defaultImage,
    resources: { memoryBytes: config.containers.memoryBytes, nanoCpus: config.containers.nanoCpus, pidsLimit: config.containers.pidsLimit },
  });
  const sessionStore = new SqliteSessionStore(db);
  const users = new UserService({
    users: new UserRepository(db),
    passwordIterations: config.passwordIterations,
    onDelete: (username) => containers.deleteOwnedBy(username),
    onCredentialsChanged: (username) => sessionStore.destroyForUser(username),
  });
  users.loadFixture(config.usersFixture, config.adminHash);
  const tokens = new TokenService({ secret: jwtSecret, expirationSeconds: config.jwt.expirationSeconds, refreshExpirationSeconds: config.jwt.refreshExpirationSeconds });
  const app = createApp({
    users,
    tokens,
    passport: createPassport({ users, tokens }),
    loginThrottle: new LoginThrottle(config.loginThrottle),
    sessionStore,
    sessionSecret,
    session: config.session,
    containers,
    containerLimits: { scriptMaxBytes: config.limits.scriptMaxBytes, defaultImage: config.containers.defaultImage },
    jsonBodyMaxBytes: config.limits.jsonBodyMaxBytes,
    health: () => checkHealth({ db, satellites, users }),
    logger: logger.child('http'),
  });

  let server: Server | null = null;
  let closing = false;
  let backgroundWork: Promise<void> = Promise.resolve();
  const background = async (): Promise<void> => {
    // The satellite may be starting alongside us: wait for it before reconciling.
    for (let attempt = 0; attempt < 50 && !closing; attempt++) {
      try {
        await satellite.health();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    if (closing) return;
    await scheduler.reconcileAll();
    if (!closing) scheduler.startSync(config.stateSyncIntervalMs);
  };

  return {
    app,
    db,
    scheduler,
    users,
    satellite,
    instanceId,
    async listen() {
      server = await new Promise<Server>((resolve, reject) => {
        // Express 5 hands listen errors (EADDRINUSE) to the callback.
        const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      const address = server.address() as AddressInfo;
      logger.info(`BoatLoad API listening on http://${address.address}:${address.port}`);
      if (await users.usesDefaultAdminPassword()) logger.warn(DEFAULT_PASSWORD_WARNING);
      backgroundWork = background().catch((err: Error) => logger.error(`start-up reconcile failed: ${err.message}`));
      return server;
    },
    async close() {
      closing = true;
      await backgroundWork;
      scheduler.stopSync();
      if (server) {
        const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      await scheduler.idle();
      satellite.close();
      db.close();
    },
  };
}
