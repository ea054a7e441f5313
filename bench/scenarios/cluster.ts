/**
 * 8. Cluster: create → running on a real 3-node Swarm, BoatLoad's swarm backend against a raw
 * `docker service create`. The cluster is the cluster suite's (test/cluster/harness.ts and
 * cluster.sh: one dockerd per network namespace, a Swarm across them, the images loaded on every
 * node), with the satellites deployed as a global service (docker/deploy-swarm.sh). BoatLoad's API
 * runs as a process from dist/ with BOATLOAD_BACKEND=swarm on the manager's socket.
 *
 * BoatLoad: `POST /v1/container/` (`sleep 3600` as arguments), poll `state` until `running`. Raw:
 * dockerode's createService on the manager with the service spec BoatLoad's backend would build
 * (serviceSpecFor: the image by its ID, so no registry is asked, as `--no-resolve-image`; dnsrr
 * endpoint; the same limits, log options and restart policy), poll the service's tasks until one
 * runs. Removal, and waiting until the service's containers are gone from every node, is outside
 * the timed window on both sides.
 *
 * Needs root, iproute2, util-linux (unshare, flock) and dockerd; without them the row is skipped
 * with the reason. Holds the cluster lock of scripts/test-cluster.sh for the whole scenario. The
 * cluster, the API process and the lock are released at the end, also on errors and Ctrl-C.
 */
import type Docker from 'dockerode';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { emptySpec } from '../../common/container-spec';
import { projectRoot } from '../../common/project-root';
import { serviceNameFor, serviceSpecFor } from '../../units/scheduler/swarm-spec';
import { Cluster } from '../../test/cluster/harness';
import { BoatLoadApi } from '../boatload';
import { ClusterLock, CLUSTER_LOCK } from '../cluster-lock';
import type { HttpClient } from '../http';
import { DEFAULTS } from '../raw';
import { median } from '../stats';
import { BoatLoadSystem } from '../system';
import { log, sleep } from '../util';
import { alternate, compareRow, skippedRow, type BenchContext, type Row, type Scenario } from './types';

const NODES = 3;
const ARGS = ['sleep', '3600'];
const POLL_MS = 20;
const TIMEOUT_MS = 60_000;
const ROW = '8 cluster';
const NAME = 'create → running, 3-node Swarm';
const TARGET = { on: 'ratio', op: '<=', value: 1.15 } as const;
/** BoatLoad's defaults for the swarm backend (api/config.ts, api/backend-config.ts). */
const SWARM_DEFAULTS = { stopTimeoutSeconds: 5, restartDelayMs: 1000 };
const TOOLS = ['ip', 'unshare', 'flock', 'mount', 'dockerd', 'docker'];

/** Why the scenario cannot run on this machine, or null. */
function missingFacility(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and one dockerd per node, as npm run test:cluster)';
  const missing = TOOLS.filter((tool) => spawnSync('bash', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length) return `missing ${missing.join(', ')} (apt-get install -y iproute2 util-linux docker.io)`;
  return null;
}

/** docker/build.sh: the api and satellite images (skipped when they match the sources), as test-cluster.sh. */
function buildImages(root: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['docker/build.sh', 'boatload', 'latest'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`docker/build.sh boatload latest failed (${signal ?? `exit ${code}`})`))));
  });
}

interface SwarmTask {
  ID: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status: { State: string; Timestamp?: string; Err?: string };
}

interface Timeline {
  /** Client: from the start of the create call until it answered. */
  createCall: number;
  /** From the start until the service (the one BoatLoad updates to 1 replica) was last updated. */
  serviceUpdated: number;
  /** … until Swarm created the task. */
  taskCreated: number;
  /** … until the task was running (Swarm's timestamp). */
  taskRunning: number;
  /** … until the client saw it running (the whole measured time). */
  seen: number;
}

const at = (stamp: string | undefined, t0: number): number => (stamp ? Date.parse(stamp) - t0 : NaN);

/** Swarm's own timestamps of the service's running task, relative to the client's start. */
async function timelineOf(docker: Docker, serviceId: string, t0: number, createCall: number, seen: number): Promise<Timeline> {
  const [service, tasks] = await Promise.all([
    docker.getService(serviceId).inspect() as Promise<{ UpdatedAt?: string }>,
    docker.listTasks({ filters: { service: [serviceId] } }) as Promise<SwarmTask[]>,
  ]);
  const task = tasks.find((t) => t.Status.State === 'running') ?? tasks[0];
  return {
    createCall,
    serviceUpdated: at(service.UpdatedAt, t0),
    taskCreated: at(task?.CreatedAt, t0),
    taskRunning: task?.Status.State === 'running' ? at(task.Status.Timestamp, t0) : NaN,
    seen,
  };
}

function medians(timelines: Timeline[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ['createCall', 'serviceUpdated', 'taskCreated', 'taskRunning', 'seen'] as const) {
    const values = timelines.map((t) => t[key]).filter((v) => Number.isFinite(v));
    if (values.length) out[key] = Math.round(median(values) * 10) / 10;
  }
  return out;
}

const serviceFilter = (serviceName: string): { label: string[] } => ({ label: [`com.docker.swarm.service.name=${serviceName}`] });

/**
 * SIGKILLs the service's containers on every node: `sleep` ignores SIGTERM, and Swarm would wait
 * the whole stop grace period (5 s) after the removal; the same for both sides, outside the timing.
 */
async function killTasks(cluster: Cluster, serviceName: string): Promise<void> {
  await Promise.all(
    [...cluster.nodes.values()].map(async (node) => {
      const running = await node.docker.listContainers({ filters: serviceFilter(serviceName) });
      await Promise.all(running.map((c) => node.docker.getContainer(c.Id).kill({ signal: 'SIGKILL' }).catch(() => undefined)));
    }),
  );
}

/** Waits until no node has a container of the service left (Swarm removes them after the service). */
async function waitGone(cluster: Cluster, serviceName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const filters = serviceFilter(serviceName);
  for (;;) {
    const left = await Promise.all([...cluster.nodes.values()].map((node) => node.docker.listContainers({ all: true, filters }).then((c) => c.length)));
    if (left.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`containers of ${serviceName} still on the nodes after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function measure(ctx: BenchContext, cluster: Cluster, api: BoatLoadSystem, http: HttpClient, runId: string): Promise<Row> {
  const manager = cluster.manager.docker;
  const bl = new BoatLoadApi(http, manager);
  // Nothing to learn from an engine (the cluster's tear-down removes everything): no inspect per create.
  bl.instanceId = runId;
  const imageId = ((await manager.getImage(ctx.image).inspect()) as { Id: string }).Id;
  const instanceLabel = `boatload.bench.run=${runId}`;
  let counter = 0;
  const rawSpec = (): Docker.ServiceSpec => {
    const spec = emptySpec(`boatload-bench-${runId}-${++counter}`, ctx.image);
    spec.cmd = ARGS;
    spec.labels = { 'boatload.bench.run': runId };
    spec.memoryBytes = DEFAULTS.memoryBytes;
    spec.nanoCpus = DEFAULTS.nanoCpus;
    spec.pidsLimit = DEFAULTS.pidsLimit;
    return serviceSpecFor({
      serviceName: serviceNameFor(spec.name),
      unitName: `${spec.name}.service`,
      spec,
      imageRef: imageId,
      instanceLabel,
      mode: { global: false, replicas: 1 },
      constraints: [],
      stopTimeoutSeconds: SWARM_DEFAULTS.stopTimeoutSeconds,
      restartDelayMs: SWARM_DEFAULTS.restartDelayMs,
      logs: { maxSize: DEFAULTS.logMaxSize, maxFiles: DEFAULTS.logMaxFiles },
    });
  };
  const timelines = { boatload: [] as Timeline[], raw: [] as Timeline[] };
  const samples = await alternate({
    warmups: ctx.quick ? 1 : 2,
    iterations: ctx.iterations(12, 2),
    log: (m) => log(`cluster: ${m}`),
    boatload: async (warmup) => {
      if (!api.alive) throw new Error(`the swarm API process is no longer running:\n${api.logTail('api')}`);
      const t0 = Date.now();
      const started = performance.now();
      const id = await bl.create({ container_args: ARGS });
      const createCall = performance.now() - started;
      const serviceName = serviceNameFor(`boatload-${id}`);
      try {
        await bl.waitFor(id, (s) => s.status === 'running', { pollMs: POLL_MS, timeoutMs: TIMEOUT_MS });
        const ms = performance.now() - started;
        const service = (await manager.listServices({ filters: { name: [serviceName] } })).find((s) => s.Spec?.Name === serviceName);
        if (!warmup && service?.ID) timelines.boatload.push(await timelineOf(manager, service.ID, t0, createCall, ms));
        return ms;
      } finally {
        await killTasks(cluster, serviceName);
        await bl.remove(id);
        await waitGone(cluster, serviceName);
      }
    },
    raw: async (warmup) => {
      const spec = rawSpec();
      const t0 = Date.now();
      const started = performance.now();
      const created = (await manager.createService(spec)) as unknown as { id?: string; ID?: string };
      const createCall = performance.now() - started;
      const serviceId = (created.id ?? created.ID) as string;
      try {
        const deadline = Date.now() + TIMEOUT_MS;
        for (;;) {
          const tasks = (await manager.listTasks({ filters: { service: [serviceId] } })) as SwarmTask[];
          if (tasks.some((t) => t.Status.State === 'running')) break;
          const failed = tasks.find((t) => ['failed', 'rejected'].includes(t.Status.State));
          if (failed) throw new Error(`raw service task ${failed.Status.State}: ${failed.Status.Err ?? ''}`);
          if (Date.now() > deadline) throw new Error(`raw service not running after ${TIMEOUT_MS} ms`);
          await sleep(POLL_MS);
        }
        const ms = performance.now() - started;
        if (!warmup) timelines.raw.push(await timelineOf(manager, serviceId, t0, createCall, ms));
        return ms;
      } finally {
        await killTasks(cluster, spec.Name as string);
        await manager.getService(serviceId).remove();
        await waitGone(cluster, spec.Name as string);
      }
    },
  });
  const breakdown = { boatload: medians(timelines.boatload), raw: medians(timelines.raw) };
  log(`cluster: medians in ms from the client's start (create call answered, service last updated, task created, task running by Swarm, seen running by the client): boatload ${JSON.stringify(breakdown.boatload)}, raw ${JSON.stringify(breakdown.raw)}`);
  return compareRow({
    scenario: ROW,
    name: NAME,
    unit: 'ms',
    higherIsBetter: false,
    boatload: samples.boatload,
    raw: samples.raw,
    target: TARGET,
    reason: `${NODES} engines in network namespaces, one Swarm; BoatLoad: POST then poll state every ${POLL_MS} ms until status=running (API from dist/, BOATLOAD_BACKEND=swarm, satellites a global service); raw: createService (BoatLoad's service spec, image by ID, dnsrr) then poll the tasks every ${POLL_MS} ms until one runs`,
    extra: { nodes: NODES, poll_ms: POLL_MS, breakdown_median_ms: breakdown },
  });
}

export const cluster: Scenario = {
  id: 'cluster',
  number: 8,
  title: 'cluster',
  async run(ctx: BenchContext): Promise<Row[]> {
    const missing = missingFacility();
    if (missing) return [skippedRow(ROW, NAME, 'ms', `skipped: ${missing}`, TARGET, false)];
    const root = projectRoot();
    const runId = randomBytes(4).toString('hex');
    const secret = randomBytes(32).toString('hex');
    const aborted = new AbortController();
    let lock: ClusterLock | null = null;
    let up: Promise<{ cluster: Cluster }> | null = null;
    let theCluster: Cluster | null = null;
    let api: BoatLoadSystem | null = null;
    let http: HttpClient | null = null;
    let released: Promise<void> | null = null;

    // Once, whoever comes first: the scenario's finally or the Ctrl-C handler.
    const release = (): Promise<void> =>
      (released ??= (async () => {
        aborted.abort();
        http?.close();
        if (api) await api.stop().catch((err: Error) => log(`cluster: stopping the API: ${err.message}`));
        // A cluster still coming up is torn down once cluster.sh has finished (or failed).
        if (up) await up.catch(() => undefined);
        if (lock) {
          const t0 = Date.now();
          await (theCluster ? theCluster.down() : Cluster.teardown()).catch((err: Error) => log(`cluster: tear-down: ${err.message}`));
          log(`cluster: torn down in ${Date.now() - t0} ms`);
          await lock.release();
        }
      })());
    const unregister = ctx.onInterrupt(release);

    try {
      lock = await ClusterLock.take(() => log(`cluster: another cluster run holds ${CLUSTER_LOCK}; waiting for it (at most 30 min)`), aborted.signal);
      if (!lock) return [skippedRow(ROW, NAME, 'ms', `skipped: ${CLUSTER_LOCK} stayed busy for 30 min (another cluster run)`, TARGET, false)];
      log('cluster: building the api and satellite images (docker/build.sh; skipped when up to date)');
      await buildImages(root);
      up = Cluster.up(NODES);
      const { cluster: c, readyMs } = (await up) as { cluster: Cluster; readyMs: number };
      theCluster = c;
      log(`cluster: ${NODES}-node Swarm ready in ${readyMs} ms`);
      const t0 = Date.now();
      await c.deploySatellites(secret);
      await c.waitForSatellites([...c.nodes.keys()]);
      log(`cluster: satellites (global service) answering on ${NODES} nodes after ${Date.now() - t0} ms`);
      api = await BoatLoadSystem.start({
        root,
        apiPort: 18010,
        satellite: false,
        secret,
        cpuProfileDir: ctx.cpuProfileDir,
        apiEnv: { BOATLOAD_BACKEND: 'swarm', BOATLOAD_SWARM_DOCKER_HOST: c.managerHost },
      });
      log(`cluster: BoatLoad API (swarm backend) pid ${api.apiPid} on :${api.apiPort}`);
      http = await api.login();
      return [await measure(ctx, c, api, http, runId)];
    } finally {
      await release();
      unregister();
    }
  },
};
