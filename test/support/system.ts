/**
 * Boots a real BoatLoad for a test: a satellite on the real engine and an API with its own temp
 * store, both on ephemeral loopback ports. `restartApi` builds a fresh API on the same store, as
 * a process restart would. `close` removes every engine container this instance created.
 */
import Docker from 'dockerode';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { silentLogger, type Logger } from '../../common/logger';
import { SignatureVerifier } from '../../common/signing';
import { AddressPolicy } from '../../common/address-policy';
import { hashPassword } from '../../api/auth/passwords';
import { loadApiConfig, type ApiConfig } from '../../api/config';
import { buildApiServer, type ApiServer, type ApiServerSeams } from '../../api/server';
import { createSatelliteApp } from '../../satellite/app';
import { ContainerFiles } from '../../satellite/container-files';
import { HostEngine } from '../../satellite/host-engine';
import { machineInfoReader } from '../../satellite/machine';
import { MetricsReader } from '../../satellite/metrics';
import { ScriptFiles } from '../../satellite/script-files';
import { Firewall } from '../../satellite/firewall';
import { UserNetworks } from '../../satellite/user-networks';
import { WarmMembers } from '../../satellite/warm-members';
import { WarmNetworks } from '../../satellite/warm-networks';
import { projectRoot } from '../../common/project-root';
import type { Db } from '../../api/store/database';
import { SqliteDatabase } from '../../api/store/sqlite-database';

export const TEST_PASSWORD_ITERATIONS = 1000;
export const SATELLITE_SECRET = 'test-satellite-secret-0123456789abcdef';

export interface SatelliteHandle {
  url: string;
  server: Server;
  /** The packet filter it enforces (null: none); its chains stay after close, as a real satellite's. */
  firewall: Firewall | null;
  close(): Promise<void>;
}

/**
 * `firewall`: enforce the network policy with chains of this prefix (a test's own, removed on close)
 * and this egress allowlist; without it, users' networks are made but no rule is written.
 */
export interface TestFirewall {
  prefix: string;
  egressAllow?: string[];
}

/** `networkGraceMs`: how long users' networks outlive their last container (default 0 here: at once). */
export async function startSatellite(options: { secret?: string; port?: number; downloadAllow?: string[]; dockerSocket?: string; scriptDir?: string; swarmProxy?: boolean; logger?: Logger; firewall?: TestFirewall; networkGraceMs?: number } = {}): Promise<SatelliteHandle> {
  const logger = options.logger ?? silentLogger;
  // Its own agent, destroyed on close, so no keep-alive socket to the engine outlives the test.
  const engineAgent = new Agent({ keepAlive: true });
  const docker = new Docker({ agent: engineAgent, ...(options.dockerSocket ? { socketPath: options.dockerSocket } : {}) } as Docker.DockerOptions);
  let firewall: Firewall | null = null;
  if (options.firewall) {
    firewall = new Firewall({ prefix: options.firewall.prefix, egressAllow: options.firewall.egressAllow ?? [], logger });
    await firewall.start();
  }
  const networks = new UserNetworks({ docker, logger, firewall, owner: options.firewall?.prefix ?? 'BOATLOAD', graceMs: options.networkGraceMs ?? 0 });
  await networks.reconcile();
  const logLimits = { maxSize: '64m', maxFiles: 2 };
  const engine = new HostEngine({ networks, docker, logger, logLimits, data: { maxBytes: 64 * 1024 * 1024, maxEntries: 1000, maxRatio: 100, downloadTimeoutMs: 5000, addresses: new AddressPolicy(options.downloadAllow ?? []) }, scripts: options.scriptDir ? new ScriptFiles(options.scriptDir) : undefined });
  const app = createSatelliteApp({
    engine,
    warm: options.scriptDir ? new WarmMembers({ docker, engine, scriptDir: options.scriptDir, logLimits, networks: new WarmNetworks({ docker, networks, owner: options.firewall?.prefix ?? 'BOATLOAD', logger }) }) : null,
    files: new ContainerFiles(),
    metrics: new MetricsReader(),
    verifier: new SignatureVerifier({ secret: options.secret ?? SATELLITE_SECRET, windowSeconds: 30 }),
    machine: machineInfoReader({ docker, metadata: { role: 'test' } }),
    logger,
    maxBodyBytes: 16 * 1024 * 1024,
    swarmProxy: options.swarmProxy ? { socketPath: options.dockerSocket ?? '/var/run/docker.sock' } : undefined,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    // As satellite/main.ts: idle connections live a minute.
    s.keepAliveTimeout = 65_000;
    s.headersTimeout = 66_000;
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    firewall,
    close: () =>
      new Promise<void>((resolve) => {
        networks.close();
        server.close(() => resolve());
        server.closeAllConnections();
        engineAgent.destroy();
      }),
  };
}

export interface TestSystem {
  api: ApiServer;
  config: ApiConfig;
  satellite: SatelliteHandle;
  dataDir: string;
  /** supertest against the current API. */
  http(): ReturnType<typeof request>;
  /** A JWT for the user (created on first use unless it is admin). */
  token(username?: string, options?: { admin?: boolean }): Promise<string>;
  restartApi(): Promise<void>;
  /** stopApi then startApi: restartApi with work in between (e.g. repairing the store's disk). */
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  restartSatellite(): Promise<void>;
  stopSatellite(): Promise<void>;
  close(): Promise<void>;
}

/** The environment of an API under test: loopback, a fast state sync, a short stop, quiet, one satellite. */
export function testApiEnv(options: { dataDir: string; adminHash: string; satelliteUrl: string }): Record<string, string> {
  return {
    BOATLOAD_HOST: '127.0.0.1',
    BOATLOAD_PORT: '0',
    BOATLOAD_DATA_DIR: options.dataDir,
    BOATLOAD_USERS_FIXTURE: join(projectRoot(), 'data', 'data.json'),
    ADMINHASH: options.adminHash,
    BOATLOAD_PASSWORD_ITERATIONS: String(TEST_PASSWORD_ITERATIONS),
    SATELLITE_URL: options.satelliteUrl,
    SATELLITE_SECRET,
    SATELLITE_TIMEOUT_MS: '30000',
    BOATLOAD_STATE_SYNC_INTERVAL_MS: '300',
    // A stop waits this long before the kill, and the tests' containers mostly run `sh` or `sleep`
    // as pid 1, which ignores SIGTERM: the default 5 s was waited out on every such stop. A test
    // of a graceful stop sets its own.
    BOATLOAD_STOP_TIMEOUT_SECONDS: '1',
    LOG_LEVEL: 'error',
    // Tests run as root: never let the API take fleetctl's default /var/run/fleet.sock.
    BOATLOAD_FLEET_SOCKET: 'off',
  };
}

export const PASSWORD = 'correct-horse-battery';

/** The API's SQLite handle, for tests of the SQLite file itself (throws when the API runs on PostgreSQL). */
export function sqliteDb(api: ApiServer): Db {
  if (!(api.store instanceof SqliteDatabase)) throw new Error('this test reads the SQLite store; the API runs on PostgreSQL (BOATLOAD_DATABASE_URL)');
  return api.store.db;
}

/**
 * `dockerSocket`: the engine for the satellite (default: DOCKER_HOST or /var/run/docker.sock).
 * `logger` / `satelliteLogger`: the API's and the satellite's loggers (default: silent), for tests
 * that read what they log.
 * `seams`: instrumented parts for the API (kept across restarts).
 * `networkGraceMs`: the satellite's SATELLITE_NETWORK_GRACE_SECONDS in ms (default 0: users' networks go
 * with their last container, as the network tests expect).
 */
export async function startSystem(env: Record<string, string> = {}, options: { dockerSocket?: string; logger?: Logger; satelliteLogger?: Logger; seams?: ApiServerSeams; firewall?: TestFirewall; networkGraceMs?: number } = {}): Promise<TestSystem> {
  const { dockerSocket, seams, satelliteLogger, firewall, networkGraceMs } = options;
  const logger = options.logger ?? silentLogger;
  const dataDir = mkdtempSync(join(tmpdir(), 'boatload-test-'));
  const downloadAllow = (env.BOATLOAD_DOWNLOAD_ALLOW ?? '').split(',').filter(Boolean);
  // Scripts as the satellite stages them by default: host files bind-mounted into the containers.
  const scriptDir = join(dataDir, 'scripts');
  let satellite = await startSatellite({ dockerSocket, downloadAllow, scriptDir, logger: satelliteLogger, firewall, networkGraceMs });
  const adminHash = await hashPassword('admin', TEST_PASSWORD_ITERATIONS);
  const configFor = (): ApiConfig => loadApiConfig({ ...testApiEnv({ dataDir, adminHash, satelliteUrl: satellite.url }), ...env });
  let config = configFor();
  let api = await buildApiServer(config, logger, seams);
  await api.listen();
  const tokens = new Map<string, string>();

  const system: TestSystem = {
    get api() {
      return api;
    },
    get config() {
      return config;
    },
    get satellite() {
      return satellite;
    },
    dataDir,
    http: () => request(api.app),
    async token(username = 'admin', options = {}) {
      const cached = tokens.get(username);
      if (cached) return cached;
      if (username !== 'admin') {
        const admin = await system.token('admin');
        await request(api.app).post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username, password: PASSWORD, is_admin: options.admin ?? false }).expect(201);
      }
      const res = await request(api.app).post('/api-token-auth/').send({ username, password: username === 'admin' ? 'admin' : PASSWORD }).expect(200);
      tokens.set(username, res.body.token as string);
      return res.body.token as string;
    },
    async restartApi() {
      await system.stopApi();
      await system.startApi();
    },
    async stopApi() {
      await api.close();
    },
    async startApi() {
      config = configFor();
      api = await buildApiServer(config, logger, seams);
      await api.listen();
    },
    async stopSatellite() {
      await satellite.close();
    },
    async restartSatellite() {
      const port = Number(new URL(satellite.url).port);
      await satellite.close().catch(() => undefined);
      satellite = await startSatellite({ port, dockerSocket, downloadAllow, scriptDir, logger: satelliteLogger, firewall, networkGraceMs });
    },
    async close() {
      const instanceId = api.instanceId;
      await api.close().catch(() => undefined);
      await satellite.close().catch(() => undefined);
      await removeInstanceContainers(instanceId, dockerSocket);
      await satellite.firewall?.remove();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return system;
}

/** Removes every engine container labelled with this API instance's id, then its users' networks. */
export async function removeInstanceContainers(instanceId: string, dockerSocket?: string): Promise<void> {
  const docker = dockerSocket ? new Docker({ socketPath: dockerSocket }) : new Docker();
  const containers = await docker.listContainers({ all: true, filters: { label: [`boatload.instance=${instanceId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters: { label: [`boatload.instance=${instanceId}`] } });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
