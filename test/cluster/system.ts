/**
 * A BoatLoad API for the cluster tests: in this process (on the host, outside every node), with the
 * swarm backend driving the cluster's manager and reading through each node's satellite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { hashPassword } from '../../api/auth/passwords';
import { loadApiConfig } from '../../api/config';
import { buildApiServer, type ApiServer } from '../../api/server';
import { createLogger, silentLogger } from '../../common/logger';
import { projectRoot } from '../../common/project-root';
import { Cluster } from './harness';

export const CLUSTER_SECRET = 'cluster-satellite-secret-0123456789abcdef';

export interface ClusterApi {
  api: ApiServer;
  http(): ReturnType<typeof request>;
  token(): Promise<string>;
  /** Stops the API; `keepData`: its store stays for a restart (startClusterApi with `dataDir`). */
  close(keepData?: boolean): Promise<void>;
  dataDir: string;
}

export async function startClusterApi(cluster: Cluster, env: Record<string, string> = {}, restart?: { dataDir: string }): Promise<ClusterApi> {
  const dataDir = restart?.dataDir ?? mkdtempSync(join(tmpdir(), 'boatload-cluster-'));
  const adminHash = await hashPassword('admin', 1000);
  const config = loadApiConfig({
    BOATLOAD_HOST: '127.0.0.1',
    BOATLOAD_PORT: '0',
    BOATLOAD_DATA_DIR: dataDir,
    BOATLOAD_USERS_FIXTURE: join(projectRoot(), 'data', 'data.json'),
    ADMINHASH: adminHash,
    BOATLOAD_PASSWORD_ITERATIONS: '1000',
    BOATLOAD_BACKEND: 'swarm',
    BOATLOAD_SWARM_DOCKER_HOST: cluster.managerHost,
    SATELLITE_SECRET: CLUSTER_SECRET,
    SATELLITE_TIMEOUT_MS: '5000',
    BOATLOAD_STATE_SYNC_INTERVAL_MS: '300',
    BOATLOAD_FLEET_SOCKET: 'off',
    LOG_LEVEL: 'error',
    ...env,
  });
  const api = await buildApiServer(config, process.env.BLC_DEBUG ? createLogger('api', 'debug') : silentLogger);
  await api.listen();
  let token: string | null = null;
  return {
    api,
    http: () => request(api.app),
    async token() {
      if (!token) token = (await request(api.app).post('/api-token-auth/').send({ username: 'admin', password: 'admin' }).expect(200)).body.token as string;
      return token;
    },
    dataDir,
    async close(keepData = false) {
      await api.close().catch(() => undefined);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The setup most cluster files share: three nodes, the manager (node 1) drained so containers land
 * on the two workers, the satellites answering there, and an API. A failure after the nodes are up
 * tears them down before it is thrown (the caller has no cluster to tear down).
 */
export async function workersWithApi(options: { scriptDirs?: boolean; apiEnv?: Record<string, string> } = {}): Promise<{ cluster: Cluster; api: ClusterApi; readyMs: number }> {
  const { cluster, readyMs } = await Cluster.up(3);
  try {
    await cluster.setAvailability(1, 'drain');
    await cluster.deploySatellites(CLUSTER_SECRET, '3s', { scriptDirs: options.scriptDirs ?? false });
    await cluster.waitForSatellites([2, 3]);
    return { cluster, api: await startClusterApi(cluster, options.apiEnv), readyMs };
  } catch (err) {
    await cluster.down().catch(() => undefined);
    throw err;
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs` with the last error. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Idle members of the installation's classes per node index, as the API counts them. */
export function classIdleByNode(api: ClusterApi, cluster: Cluster): Map<number, number> {
  const counts = new Map<number, number>();
  for (const pool of (api.api.warm?.status() ?? []) as Array<{ machineId?: string; idle: number }>) {
    const index = cluster.nodeOfMachine(pool.machineId ?? null)?.index ?? -1;
    counts.set(index, (counts.get(index) ?? 0) + pool.idle);
  }
  return counts;
}

/** Waits until both workers' class pools hold `size` idle members each (the manager keeps none). */
export const workerPoolsFull = (api: ClusterApi, cluster: Cluster, size: number): Promise<true> =>
  eventually('every worker class pool full', async () => {
    const idle = classIdleByNode(api, cluster);
    return idle.size === 2 && idle.get(2) === size && idle.get(3) === size ? true : undefined;
  }, 90_000);
