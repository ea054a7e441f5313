/**
 * Builds the API's object graph once, from its config: store, scheduler, satellite client,
 * services, app. Nothing here is a module-level singleton; tests build as many as they like.
 */
import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/logger';
import type { UnitRecord } from '../units/scheduler/model';
import { Scheduler } from '../units/scheduler/scheduler';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';
import { createApp } from './app';
import { LoginService } from './auth/login';
import { LoginThrottle } from './auth/login-throttle';
import { pbkdf2Hasher, type PasswordHasher } from './auth/passwords';
import { createPassport } from './auth/passport';
import { TokenService } from './auth/tokens';
import { ConfigError, type ApiConfig } from './config';
import { isLoopback } from '../common/env';
import { LABELS } from '../common/labels';
import { ContainerService } from './containers/service';
import { ListingCache } from './containers/listing-cache';
import { ContainerReaper } from './containers/reaper';
import { attachmentsResolver } from './containers/attachments';
import { readyWaiter } from './containers/create-wait';
import { ExecService } from './containers/exec';
import { LifecycleService } from './containers/lifecycle';
import { ContainerLocator } from './containers/locator';
import { TerminalGateway } from './containers/terminal';
import { resourceHealth } from './resource-health';
import { OperationService } from './operations/service';
import { SnapshotService } from './snapshots/service';
import { VolumeService } from './volumes/service';
import { OperationRepository } from './store/operations';
import { SnapshotRepository } from './store/snapshots';
import { VolumeRepository } from './store/volumes';
import { workloadResolver } from './containers/workloads';
import { ContainerReferences } from './containers/references';
import type { User } from './store/users';
import { startFleetListeners, type FleetListeners } from './fleet/listeners';
import { MachineRegistry } from './fleet/machines';
import { createFleetApp } from './fleet/routes';
import { FleetUnitService } from './fleet/service';
import { checkHealth, DEFAULT_PASSWORD_WARNING, PublicHealth } from './health';
import { startMetricsListener, type MetricsListener } from '../common/metrics/exposition';
import { ApiMetrics } from './metrics/api-metrics';
import { buildSchedulerBackend } from './scheduler-backend';
import { SatelliteClient } from './satellite/client';
import { ContainerRepository } from './store/containers';
import { LoginFailureRepository } from './store/login-failures';
import { MachineMetadataRepository } from './store/machine-metadata';
import { StoreSessionStore } from './store/session-store';
import { openStore } from './store/open-store';
import type { SqlDatabase } from './store/sql';
import { SettingsRepository } from './store/settings';
import { SqlUnitStore } from './store/units';
import { UserRepository } from './store/users';
import { UserService } from './users/service';
import { QuotaRepository } from './store/quotas';
import { QuotaService } from './quotas/service';
import { DiskWatchdog } from './quotas/disk-watchdog';

import type { WarmCapacity } from '../units/scheduler/warm-capacity';
import { FunctionService } from './functions/service';
import { FunctionRepository } from './store/functions';
import { FunctionInvocationRepository } from './store/function-invocations';
import type { Leadership } from '../units/scheduler/leadership';
import { LeaderDuties } from './leader-duties';
import { replicaParts } from './replicas';

export interface ApiServer {
  app: Express;
  /** The store the repositories use: SQLite, or PostgreSQL with BOATLOAD_DATABASE_URL. */
  store: SqlDatabase;
  scheduler: Scheduler;
  /** Whether this replica acts on the engines by itself (always, on SQLite). */
  leadership: Leadership;
  users: UserService;
  satellite: SatelliteClient;
  fleet: FleetUnitService;
  operations: OperationService;
  /** Measures writable layers and volumes against their owners' quotas (tests run a round with `check`). */
  diskWatchdog: DiskWatchdog;
  metrics: ApiMetrics;
  instanceId: string;
  /** Warm capacity (BOATLOAD_WARM_POOL; per node on swarm); null when there is none. */
  warm: WarmCapacity | null;
  /**
   * Listens (main port, then the fleet socket and HTTPS listeners when configured), then (in the
   * background) reconciles units with the engine and starts the state sync.
   */
  listen(): Promise<Server>;
  /** The fleet HTTPS listener's address once listening; null when it is not configured. */
  fleetTlsAddress(): AddressInfo | null;
  /** The unauthenticated metrics listener's address once listening; null when it is off. */
  metricsAddress(): AddressInfo | null;
  close(): Promise<void>;
}

export function exposedDefaultPassword(host: string): string {
  return (
    `refusing to listen on ${host || 'every address'} (BOATLOAD_HOST, not a loopback address) while the admin account still has the default password "admin": ` +
    "set ADMINHASH (or ADMINHASH_FILE) to a hash made with `npm run hash-password -- 'a new password'`, " +
    'or listen on 127.0.0.1 and change the password first (POST /v1/auth/password)'
  );
}

/** Parts a test may swap for an instrumented one (never for a fake that changes behaviour). */
export interface ApiServerSeams {
  /** How passwords are hashed and checked (default pbkdf2Hasher). */
  passwords?: PasswordHasher;
}

export async function buildApiServer(config: ApiConfig, logger: Logger, seams: ApiServerSeams = {}): Promise<ApiServer> {
  const store = await openStore(config, logger.child('store'));
  const replicas = replicaParts({ store, url: config.databaseUrl, logger: logger.child('replicas') });
  // Read at scrape time; `scheduler` exists by the time anything scrapes.
  const metrics = new ApiMetrics({ units: (): Promise<UnitRecord[]> => scheduler.list() });
  const settings = new SettingsRepository(store);
  const secret = (): string => randomBytes(48).toString('hex');
  const instanceId = await settings.getOrCreate('instance_id', () => randomBytes(8).toString('hex'));
  const jwtSecret = config.jwt.secret ?? (await settings.getOrCreate('jwt_secret', secret));
  const sessionSecret = config.session.secret ?? (await settings.getOrCreate('session_secret', secret));

  const satellite = new SatelliteClient({ url: config.satellite.url, secret: config.satellite.secret, timeoutMs: config.satellite.timeoutMs, label: `satellite at ${config.satellite.url}`, logger: logger.child('satellite'), observer: metrics.satelliteObserver, replicas: replicas.containerChanges });
  // BOATLOAD_BACKEND: the local satellite, or a Swarm with a satellite on every node.
  const backendParts = buildSchedulerBackend({
    config,
    satellite,
    instanceLabel: `${LABELS.instance}=${instanceId}`,
    isTaken: async (engineName) => {
      const unit = await scheduler.unitUsingEngineName(engineName, '');
      return unit !== undefined && (await scheduler.get(unit))?.everStarted === true;
    },
    placementContext: async () => ({ machines: await machines.list(), units: await scheduler.list() }),
    logger: logger.child('backend'),
    satelliteObserver: metrics.satelliteObserver,
    leadership: replicas.leadership,
    replicas: replicas.containerChanges,
  });
  const satellites = backendParts.satellites;
  const containerRepository = new ContainerRepository(store);
  const backend = backendParts.backend;
  const machines = new MachineRegistry({ source: () => backend.machines(), edits: new MachineMetadataRepository(store) });
  // Reads the scheduler and the locator lazily: both are built below, before any request.
  const references = new ContainerReferences({
    containers: containerRepository,
    unitOf: (unitName: string): Promise<UnitRecord | undefined> => scheduler.get(unitName),
    machineAddresses: async () => new Map((await machines.list()).map((machine) => [machine.id, machine.primaryIP])),
    refresh: async (owner: User, id: string): Promise<void> => {
      await locator.refresh(owner, await locator.locate(owner, id));
    },
  });
  const scheduler = new Scheduler({
    store: new SqlUnitStore(store),
    backend,
    workloadOf: workloadResolver({ containers: containerRepository, instanceId, references, unitNetworkMode: config.containers.network.defaultMode }),
    machines: () => machines.list(),
    logger: logger.child('scheduler'),
    observer: metrics.schedulerObserver,
    leadership: replicas.leadership,
    unitLocks: replicas.unitLocks,
  });
  const fleet = new FleetUnitService({ scheduler, machines, containerRecords: containerRepository, unitPolicy: { ...config.unitPolicy, hostPorts: config.hostPorts }, logger: logger.child('fleet') });
  const snapshotRepository = new SnapshotRepository(store);
  const volumeRepository = new VolumeRepository(store);
  const quotas = new QuotaService({
    repository: new QuotaRepository(store),
    defaults: config.quotas.defaults,
    count: async (kind, username) =>
      (kind === 'containers' ? containerRepository : kind === 'volumes' ? volumeRepository : snapshotRepository).countOwnedBy(username),
  });
  const snapshots = new SnapshotService({ snapshots: snapshotRepository, containers: containerRepository, satellites, instanceId, quotas });
  const volumes = new VolumeService({ volumes: volumeRepository, containers: containerRepository, satellites, scheduler, instanceId, quotas });
  const locator = new ContainerLocator({ containers: containerRepository, scheduler, satellites });
  const containers = new ContainerService({
    references,
    listings: new ListingCache(() => store.generation(), () => store.catchUp()),
    quotas,
    warm: backendParts.warm ?? undefined,
    // The local satellite stages a run's standard input beside its script; swarm: not yet.
    stagesStdin: config.backend.kind === 'local',
    attachments: attachmentsResolver({ snapshots, volumes }),
    locator,
    containers: containerRepository,
    scheduler,
    satellites,
    instanceId,
    scriptMaxBytes: config.limits.scriptMaxBytes,
    downloadTimeoutMs: config.limits.downloadTimeoutMs,
    downloadAddresses: config.downloadAddresses,
    defaultImage: config.containers.defaultImage,
    resources: { memoryBytes: config.containers.memoryBytes, nanoCpus: config.containers.nanoCpus, pidsLimit: config.containers.pidsLimit },
    defaultOneShotTtlSeconds: config.containers.lifetime.defaultOneShotSeconds,
    // Users' networks: bridges the satellite makes under its packet filter (local), overlays the
    // swarm backend makes on the manager (units/scheduler/swarm-networks.ts).
    userNetworks: true,
  });
  const reaper = new ContainerReaper({
    containers: containerRepository,
    expire: (record, now) => containers.expire(record, now),
    intervalMs: config.containers.lifetime.reapIntervalMs,
    logger: logger.child('reaper'),
    leadership: replicas.leadership,
  });
  const containerLimits = {
    scriptMaxBytes: config.limits.scriptMaxBytes,
    defaultImage: config.containers.defaultImage,
    resourceMaxima: config.containers.maxima,
    ttlMaxSeconds: config.containers.lifetime.maxSeconds,
    network: config.containers.network,
    hostPorts: config.hostPorts,
  };
  const operations = new OperationService({ repository: new OperationRepository(store), logger: logger.child('operations') });
  // At API start, nothing can still be running: whatever was, was interrupted.
  await operations.failInterrupted();
  const diskWatchdog = new DiskWatchdog({
    satellites,
    containers: containerRepository,
    volumes: volumeRepository,
    quotas,
    scheduler,
    instanceId,
    helperImage: config.containers.defaultImage,
    intervalMs: config.quotas.diskWatchIntervalMs,
    logger: logger.child('disk-watchdog'),
    leadership: replicas.leadership,
  });
  const duties = new LeaderDuties({
    leadership: replicas.leadership,
    warm: backendParts.warm,
    scheduler,
    periodic: [reaper, diskWatchdog],
    stateSyncIntervalMs: config.stateSyncIntervalMs,
    logger: logger.child('leader'),
  });
  const functions = new FunctionService({
    functions: new FunctionRepository(store),
    invocations: new FunctionInvocationRepository(store),
    leadership: replicas.leadership,
    containers,
    locator,
    operations,
    createLimits: containerLimits,
    outputMaxBytes: config.actions.execOutputMaxBytes,
    pool: backendParts.dedicated,
    logger: logger.child('functions'),
  });
  const view = containers.get.bind(containers);
  const exec = new ExecService({ locator, view, outputMaxBytes: config.actions.execOutputMaxBytes });
  const lifecycle = new LifecycleService({ locator, containers, scheduler, operations, snapshots, createLimits: containerLimits, quotas });
  const terminal = new TerminalGateway({ locator, logger: logger.child('terminal') });
  const sessionStore = new StoreSessionStore(store);
  const users = new UserService({
    users: new UserRepository(store),
    passwordIterations: config.passwordIterations,
    passwords: seams.passwords ?? pbkdf2Hasher,
    onDelete: async (username) => {
      await containers.deleteOwnedBy(username);
      // A user's snapshots, volumes and operations go with the user.
      await snapshots.deleteOwnedBy(username);
      await volumes.deleteOwnedBy(username);
      await operations.deleteOwnedBy(username);
      await functions.deleteOwnedBy(username);
      // A user created again under the same name starts from the defaults.
      await quotas.forget(username);
    },
    onCredentialsChanged: (username) => sessionStore.destroyForUser(username),
  });
  await users.loadFixture(config.usersFixture, config.adminHash);
  const tokens = new TokenService({ secret: jwtSecret, expirationSeconds: config.jwt.expirationSeconds, refreshExpirationSeconds: config.jwt.refreshExpirationSeconds });
  const publicHealth = new PublicHealth({ db: store, satellites });
  const app = createApp({
    users,
    tokens,
    passport: createPassport({ users, tokens }),
    login: new LoginService({ users, throttle: new LoginThrottle({ ...config.loginThrottle, store: new LoginFailureRepository(store) }), observer: metrics.loginObserver }),
    sessionStore,
    sessionSecret,
    session: config.session,
    containers: { service: containers, createLimits: containerLimits, wait: readyWaiter({ exec, waitReadyMaxSeconds: config.actions.waitReadyMaxSeconds }), exec, lifecycle, terminal, limits: config.actions },
    volumes,
    functions,
    snapshots,
    quotas,
    operations,
    fleet,
    jsonBodyMaxBytes: config.limits.jsonBodyMaxBytes,
    uiDir: config.uiDir,
    health: { status: publicHealth.status.bind(publicHealth), detailed: () => checkHealth({ db: store, satellites, users }) },
    resourceHealth: resourceHealth({ db: store, satellites, scheduler, operations }),
    metrics,
    logger: logger.child('http'),
    version: (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version,
  });

  let server: Server | null = null;
  let fleetListeners: FleetListeners | null = null;
  let metricsListener: MetricsListener | null = null;
  let closing = false;
  let backgroundWork: Promise<void> = Promise.resolve();
  const background = async (): Promise<void> => {
    // The satellite (or the Swarm manager) may be starting alongside us: wait for it before reconciling.
    await backendParts.waitReady(() => closing);
    if (closing) return;
    // The leader (always, on SQLite) reconciles every unit with the engine, then keeps the state
    // sync, the reaper (expiries are in the store) and the disk watchdog running (api/leader-duties.ts).
    // Functions' own capacity is defined before the leader's duties start the pool (which first
    // removes what an earlier start left, then fills).
    await functions.start();
    if (closing) return;
    replicas.start();
    duties.start();
  };

  return {
    app,
    store,
    scheduler,
    leadership: replicas.leadership,
    users,
    satellite,
    fleet,
    operations,
    diskWatchdog,
    metrics,
    instanceId,
    warm: backendParts.warm,
    async listen() {
      // Default credentials on a port others can reach: refuse rather than warn.
      if (!isLoopback(config.host) && (await users.usesDefaultAdminPassword())) throw new ConfigError(exposedDefaultPassword(config.host));
      server = await new Promise<Server>((resolve, reject) => {
        // Express 5 hands listen errors (EADDRINUSE) to the callback.
        const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      const address = server.address() as AddressInfo;
      logger.info(`BoatLoad API listening on http://${address.address}:${address.port}`);
      try {
        const fleetApp = createFleetApp({ service: fleet, bodyMaxBytes: config.limits.jsonBodyMaxBytes, logger: logger.child('fleet') });
        fleetListeners = await startFleetListeners({ app: fleetApp, config: config.fleet, logger: logger.child('fleet') });
        if (config.metricsListener) {
          metricsListener = await startMetricsListener({ ...config.metricsListener, registry: metrics.registry });
          logger.warn(`metrics listener on http://${metricsListener.address.address}:${metricsListener.address.port}/metrics answers without authentication`);
        }
      } catch (err) {
        await fleetListeners?.close();
        fleetListeners = null;
        const main = server;
        server = null;
        await new Promise<void>((resolve) => {
          main.close(() => resolve());
          main.closeAllConnections();
        });
        throw err;
      }
      if (await users.usesDefaultAdminPassword()) logger.warn(DEFAULT_PASSWORD_WARNING);
      backgroundWork = background().catch((err: Error) => logger.error(`start-up reconcile failed: ${err.message}`));
      return server;
    },
    fleetTlsAddress: () => fleetListeners?.tlsAddress ?? null,
    metricsAddress: () => metricsListener?.address ?? null,
    async close() {
      closing = true;
      // End terminals and stop recording operations.
      terminal.close();
      operations.close();
      await backgroundWork;
      await duties.stop();
      scheduler.stopSync();
      await reaper.stop();
      await diskWatchdog.stop();
      functions.close();
      await functions.idle();
      await backendParts.warm?.close();
      await fleetListeners?.close();
      fleetListeners = null;
      await metricsListener?.close();
      metricsListener = null;
      if (server) {
        const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      await scheduler.idle();
      // The lead and the unit locks go once this replica's work on the units is done.
      await replicas.close();
      satellite.close();
      backendParts.close();
      await store.close();
    },
  };
}
