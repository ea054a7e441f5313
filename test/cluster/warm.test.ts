/**
 * Warm capacity on a real Swarm (BOATLOAD_WARM_POOL with the swarm backend): each schedulable node's
 * satellite keeps members; a fitting script run takes one on a node and runs there as that node's
 * plain container (no Swarm service); what the user reads back matches a cold run (a service); the
 * pool refills per node; deleting leaves nothing; a warm run joins its owner's overlays at the take
 * (it reaches the owner's container on another node by hostname, and not another user's); a taken
 * run whose node crashes is lost with a reason naming the node, and reads answer 503 naming it. The
 * manager (node 1) is drained: members and runs are on the workers (and node 1 keeps no pool).
 * What local tests prove already (a pooled container is never reused, the launch's details, the
 * holding network's isolation) is not repeated here.
 */
import { existsSync } from 'node:fs';
import type { Cluster } from './harness';
import { b64, classIdleByNode, eventually, startClusterApi, workersWithApi, workerPoolsFull, type ClusterApi } from './system';

let cluster: Cluster;
let api: ClusterApi;
const POOL = 2;
const WARM_LABEL = 'boatload.warm-pool';
const API_ENV = { BOATLOAD_WARM_POOL: `boatload/base:latest=${POOL}`, BOATLOAD_WARM_POOL_MIN_AVAILABLE_BYTES: '0' };

interface State {
  status: string;
  node: string | null;
  reason: string | null;
  docker_state: Record<string, unknown>;
}

beforeAll(async () => {
  ({ cluster, api } = await workersWithApi({ scriptDirs: true, apiEnv: API_ENV }));
  const admin = await api.token();
  await api.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'bob', password: 'bob-password-123' }).expect(201);
});

afterAll(async () => {
  await api?.close();
  await cluster?.down();
});

const auth = async (): Promise<[string, string]> => ['Authorization', `JWT ${await api.token()}`];
const bobAuth = async (): Promise<[string, string]> => {
  const login = await api.http().post('/api-token-auth/').send({ username: 'bob', password: 'bob-password-123' }).expect(200);
  return ['Authorization', `JWT ${login.body.token as string}`];
};

const poolsFull = (): Promise<true> => workerPoolsFull(api, cluster, POOL);

/** Members waiting on a node's engine (running, carrying the pool label, no unit started in them). */
async function waitingOn(index: number, taken: Set<string>): Promise<string[]> {
  const containers = await cluster.node(index).docker.listContainers({ all: true, filters: { label: [WARM_LABEL] } });
  return containers.filter((c) => c.State === 'running' && !c.Names.some((n) => taken.has(n.slice(1)))).map((c) => c.Names[0].slice(1));
}

async function create(body: Record<string, unknown>, as?: [string, string]): Promise<string> {
  const res = await api.http().post('/v1/container/').set(...(as ?? (await auth()))).send(body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function stateOf(id: string, as?: [string, string]): Promise<State> {
  const res = await api.http().get(`/v1/container/${id}/state`).set(...(as ?? (await auth())));
  if (res.status !== 200) throw new Error(`state: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as State;
}

const exited = (id: string): Promise<State> =>
  eventually(`${id} exited`, async () => {
    const state = await stateOf(id);
    return state.status === 'exited' ? state : undefined;
  });

const runningOn = (id: string, as?: [string, string]): Promise<State> =>
  eventually(`${id} running`, async () => {
    const state = await stateOf(id, as);
    return state.status === 'running' ? state : undefined;
  });

/** A container's address on its owner's shared overlay, read on its node's engine. */
async function overlayAddress(state: State, id: string): Promise<string> {
  const node = cluster.nodeOfMachine(state.node);
  if (!node) throw new Error(`container ${id} has no node`);
  const found = await eventually('its container', async () => (await node.docker.listContainers({ filters: { label: [`boatload.id=${id}`] } }))[0]);
  const info = (await node.docker.getContainer(found.Id).inspect()) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };
  const shared = Object.entries(info.NetworkSettings.Networks).find(([name]) => /^boatload-net-[0-9a-f]{16}$/.test(name));
  if (!shared) throw new Error(`container ${id} is on no user's network`);
  return shared[1].IPAddress;
}

/** A shell loop that answers every TCP connection on `port` with `reply`. */
const server = (port: number, reply: string): string => `#!/bin/sh\nwhile true; do echo ${reply} | nc -l -p ${port}; done\n`;

const binary = (res: import('superagent').Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

/** The names in a tar archive (512-byte headers; regular files' data skipped). */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    names.push(name);
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names.sort();
}

/** What a user reads back about a finished run, without what differs between any two runs (ids, times). */
async function reads(id: string): Promise<Record<string, unknown>> {
  const headers = await auth();
  const state = await exited(id);
  const get = (path: string) => api.http().get(`/v1/container/${id}/${path}`).set(...headers);
  const changes = ((await get('changes').expect(200)).body as Array<{ Path: string; Kind: number }>).map((c) => `${c.Kind} ${c.Path}`).sort();
  const archive = await get('archive').buffer(true).parse(binary);
  const metrics = await get('metrics');
  return {
    status: state.status,
    exitCode: state.docker_state.ExitCode,
    stdout: (await get('stdout?stream=stdout').expect(200)).text,
    stderr: (await get('stdout?stream=stderr').expect(200)).text,
    changes,
    files: (await get('file').expect(200)).body,
    file: (await get('file/out/answer.txt').expect(200)).body.toString(),
    archive: { status: archive.status, names: tarNames(archive.body as Buffer) },
    metrics: { status: metrics.status, keys: metrics.status === 200 ? Object.keys(metrics.body).sort() : metrics.body },
  };
}

const SCRIPT = '#!/bin/sh\necho "hello $1"\necho "to stderr" >&2\nmkdir -p /out\necho 42 > /out/answer.txt\n';

describe('warm capacity on the swarm backend', () => {
  test('warm runs take members on the workers, read back as a cold run does, the pools refill per node, deletes leave nothing', async () => {
    await poolsFull();
    const taken = new Set<string>();
    const before = new Map([2, 3].map((index) => [index, 0]));
    for (const index of [2, 3]) before.set(index, (await waitingOn(index, taken)).length);
    expect([...before.values()]).toEqual([POOL, POOL]);

    // One at a time, timed from the POST to the state `exited` (polled every 20 ms): the figures of
    // warm (a member on a node) against cold (a Swarm service; another memory limit does not fit).
    const timed = async (body: Record<string, unknown>): Promise<{ id: string; ms: number }> => {
      const started = Date.now();
      const id = await create(body);
      await eventually(`${id} exited`, async () => ((await stateOf(id)).status === 'exited' ? true : undefined), 60_000, 20);
      return { id, ms: Date.now() - started };
    };
    const warmRuns = [];
    for (const arg of ['a', 'b', 'c']) warmRuns.push(await timed({ script: b64(SCRIPT), container_args: arg, permanent: false }));
    const coldRuns = [];
    for (const arg of ['a', 'd']) coldRuns.push(await timed({ script: b64(SCRIPT), container_args: arg, permanent: false, memory: 96 * 1024 * 1024 }));
    process.stdout.write(`[cluster] POST → exited on Swarm: warm ${warmRuns.map((r) => r.ms).join(' / ')} ms, cold ${coldRuns.map((r) => r.ms).join(' / ')} ms\n`);
    const warm = warmRuns.map((r) => r.id);
    const [cold, cold2] = coldRuns.map((r) => r.id);

    const manager = cluster.manager.docker;
    const serviceOf = async (id: string): Promise<unknown[]> => manager.listServices({ filters: { label: [`boatload.unit=${id}.service`] } });
    for (const id of warm) {
      const state = await exited(id);
      const node = cluster.nodeOfMachine(state.node);
      expect([2, 3]).toContain(node?.index);
      // The run is the member itself: a plain container on that node's engine, with the pool's label.
      const inspection = await (node as NonNullable<typeof node>).docker.getContainer(`boatload-${id}`).inspect();
      expect(inspection.Config.Labels[WARM_LABEL]).toBeDefined();
      expect(await serviceOf(id)).toHaveLength(0);
      taken.add(`boatload-${id}`);
    }
    for (const id of [cold, cold2]) expect(await serviceOf(id)).toHaveLength(1);

    const warmReads = await reads(warm[0]);
    const coldReads = await reads(cold);
    expect(warmReads).toEqual(coldReads);
    expect(warmReads).toMatchObject({ status: 'exited', exitCode: 0, stdout: 'hello a\n', stderr: 'to stderr\n', file: '42\n' });
    expect(warmReads.changes).toContain('1 /out/answer.txt');
    expect((warmReads.changes as string[]).some((c) => c.includes('/boatload'))).toBe(false);
    for (const [i, id] of warm.entries()) expect((await api.http().get(`/v1/container/${id}/stdout?stream=stdout`).set(...(await auth())).expect(200)).text).toBe(`hello ${'abc'[i]}\n`);

    // Each node's pool is full again: counted by the API and waiting on each engine.
    await poolsFull();
    for (const index of [2, 3]) expect(await eventually(`node ${index} refilled`, async () => ((await waitingOn(index, taken)).length === POOL ? true : undefined))).toBe(true);

    const headers = await auth();
    for (const id of [...warm, cold, cold2]) await api.http().delete(`/v1/container/${id}/`).set(...headers).expect(204);
    for (const index of [1, 2, 3]) {
      const left = await cluster.node(index).docker.listContainers({ all: true, filters: { label: [`boatload.container`] } });
      expect(left.map((c) => c.Names[0]).filter((name) => [...warm, cold, cold2].some((id) => name.includes(id)))).toEqual([]);
      // The member's staging directory went with it.
      for (const id of warm) expect(existsSync(`${cluster.scriptDirOf(index)}/boatload-${id}`)).toBe(false);
    }
    expect(await serviceOf(cold)).toHaveLength(0);
    expect(await manager.listConfigs({ filters: { label: [`boatload.unit=${cold}.service`] } })).toHaveLength(0);
  });

  test('a function invoked on the Swarm runs warm on a node (cold: false), and its container goes', async () => {
    await poolsFull();
    const headers = await auth();
    const script = b64('#!/bin/sh\necho "hello $1 from $WHO"\n');
    await api.http().post('/v1/functions').set(...headers).send({ name: 'warm-swarm-hello', script, env: { WHO: 'swarm' }, timeout: 30 }).expect(201);
    const res = await api.http().post('/v1/functions/warm-swarm-hello/invoke').set(...headers).send({ args: ['world'] });
    expect(res.status === 200 ? res.status : res.body).toBe(200);
    expect(res.body).toMatchObject({ exit_code: 0, stdout: 'hello world from swarm\n', cold: false, timed_out: false });
    // The invocation's container was a member on a worker; it is removed after the answer.
    await eventually('the invocation container removed', async () => {
      const left = await Promise.all([2, 3].map(async (index) => (await cluster.node(index).docker.listContainers({ all: true, filters: { label: [WARM_LABEL] } })).filter((c) => c.State !== 'running')));
      return left.flat().length === 0 ? true : undefined;
    });
    // Figures (printed, not asserted); cold invocations against warm ones: functions.test.ts.
    const durations: number[] = [];
    for (let i = 0; i < 2; i++) {
      const invoked = await api.http().post('/v1/functions/warm-swarm-hello/invoke').set(...headers).send({ args: ['world'] });
      expect(invoked.body).toMatchObject({ exit_code: 0, stdout: 'hello world from swarm\n', cold: false });
      durations.push(invoked.body.duration_ms as number);
    }
    process.stdout.write(`[cluster] warm function invoke on Swarm: ${durations.join(' / ')} ms\n`);
    await api.http().delete('/v1/functions/warm-swarm-hello').set(...headers).expect(204);
  });

  test("a warm run joins its owner's overlays at the take: it reaches the owner's container on another node by hostname, not another user's", async () => {
    const bob = await bobAuth();
    // Permanent: services (a permanent container never fits a pool).
    const srv = await create({ script: b64(server(7000, 'hello-from-srv')), hostname: 'srv', network: 'private', permanent: true });
    const bobSrv = await create({ script: b64(server(7001, 'hello-from-bob')), hostname: 'bobsrv', network: 'private', permanent: true }, bob);
    const srvNode = (await runningOn(srv)).node;
    const bobAddress = await overlayAddress(await runningOn(bobSrv, bob), bobSrv);
    await poolsFull();
    // Retried for a few seconds: a node that joins an overlay learns its names by gossip (as a cold task's would).
    const client = [
      '#!/bin/sh',
      'i=0; while [ $i -lt 50 ]; do i=$((i+1)); out=$(nc -w 5 srv 7000 </dev/null 2>/dev/null); [ -n "$out" ] && break; sleep 0.2; done',
      'echo "srv: $out"',
      'echo "bob by name: $(nc -w 3 bobsrv 7001 </dev/null 2>/dev/null)"',
      'echo "bob by address: $(nc -w 3 $1 7001 </dev/null 2>/dev/null)"',
      'echo "tries: $i" >&2',
      '',
    ].join('\n');
    // Two clients at once (internet, the default mode): the second reserves on the other worker (the
    // one with the most idle members), so that one of them runs on another node than srv.
    const clients = await Promise.all([0, 1].map(() => create({ script: b64(client), container_args: bobAddress, permanent: false })));
    const headers = await auth();
    const nodes: number[] = [];
    for (const id of clients) {
      const state = await exited(id);
      const node = cluster.nodeOfMachine(state.node);
      if (!node) throw new Error(`client ${id} has no node`);
      nodes.push(node.index);
      // A member (warm), on its owner's two overlays and no longer on its holding network.
      const info = (await node.docker.getContainer(`boatload-${id}`).inspect()) as { Config: { Labels: Record<string, string> }; NetworkSettings: { Networks: Record<string, unknown> } };
      expect(info.Config.Labels[WARM_LABEL]).toBeDefined();
      const networks = Object.keys(info.NetworkSettings.Networks).filter((name) => name.startsWith('boatload-')).sort();
      expect(networks).toHaveLength(2);
      expect(networks[0]).toMatch(/^boatload-net-[0-9a-f]{16}$/);
      expect(networks[1]).toBe(`${networks[0]}-out`);
      const stdout = (await api.http().get(`/v1/container/${id}/stdout?stream=stdout`).set(...headers).expect(200)).text;
      expect(stdout).toBe('srv: hello-from-srv\nbob by name: \nbob by address: \n');
      const tries = (await api.http().get(`/v1/container/${id}/stdout?stream=stderr`).set(...headers).expect(200)).text.trim();
      process.stdout.write(`[cluster] warm client on node ${node.index} (srv on ${cluster.nodeOfMachine(srvNode)?.index}): ${tries}\n`);
    }
    expect(nodes.some((index) => index !== cluster.nodeOfMachine(srvNode)?.index)).toBe(true);
    for (const id of [...clients, srv]) await api.http().delete(`/v1/container/${id}/`).set(...headers).expect(204);
    await api.http().delete(`/v1/container/${bobSrv}/`).set(...bob).expect(204);
  });

  test('after an API restart a warm run is found again on its node: its reads work, no member leaks, its delete removes it', async () => {
    await poolsFull();
    const id = await create({ script: b64(SCRIPT), container_args: 'r', permanent: false });
    const state = await exited(id);
    const node = cluster.nodeOfMachine(state.node);
    if (!node) throw new Error(`the warm run is on ${state.node}`);
    expect((await node.docker.getContainer(`boatload-${id}`).inspect()).Config.Labels[WARM_LABEL]).toBeDefined();
    const taken = new Set([`boatload-${id}`]);

    await api.close(true);
    // A stop removes the idle members; the taken run stays.
    for (const index of [2, 3]) expect(await waitingOn(index, taken)).toEqual([]);
    api = await startClusterApi(cluster, API_ENV, { dataDir: api.dataDir });
    await poolsFull();
    const headers = await auth();
    expect(await stateOf(id)).toMatchObject({ status: 'exited', node: node.machineId, docker_state: { ExitCode: 0 } });
    expect((await api.http().get(`/v1/container/${id}/stdout?stream=stdout`).set(...headers).expect(200)).text).toBe('hello r\n');
    expect((await api.http().get(`/v1/container/${id}/file/out/answer.txt`).set(...headers).expect(200)).body.toString()).toBe('42\n');
    for (const index of [2, 3]) expect((await waitingOn(index, taken)).length).toBe(POOL);

    await api.http().delete(`/v1/container/${id}/`).set(...headers).expect(204);
    expect(await node.docker.listContainers({ all: true, filters: { name: [`boatload-${id}`] } })).toEqual([]);
  });

  test('a warm run whose node crashes is lost with a reason naming the node; reads answer 503 naming it', async () => {
    await poolsFull();
    const id = await create({ script: b64('#!/bin/sh\necho started\nexec sleep 600\n'), permanent: false });
    const running = await eventually('running', async () => {
      const state = await stateOf(id);
      return state.status === 'running' ? state : undefined;
    });
    const node = cluster.nodeOfMachine(running.node);
    if (!node || node.index === 1) throw new Error(`the warm run is on ${running.node}, not on a worker`);
    expect((await node.docker.getContainer(`boatload-${id}`).inspect()).Config.Labels[WARM_LABEL]).toBeDefined();

    await cluster.crash(node.index);
    const lost = await eventually('the warm run lost', async () => {
      const state = await stateOf(id);
      return state.status === 'lost' ? state : undefined;
    }, 90_000);
    expect(lost.node).toBe(node.machineId);
    expect(lost.reason).toContain(node.hostname);
    expect(lost.reason).toMatch(/lost/);
    const refused = await api.http().get(`/v1/container/${id}/stdout`).set(...(await auth()));
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toContain(node.hostname);
    // The crashed node's pool is gone; the other worker's stays.
    const survivor = node.index === 2 ? 3 : 2;
    const idle = await eventually('only the survivor keeps a pool', async () => {
      const counts = classIdleByNode(api, cluster);
      return counts.size === 1 ? counts : undefined;
    });
    expect(idle.get(survivor)).toBe(POOL);
    await api.http().delete(`/v1/container/${id}/`).set(...(await auth())).expect(204);
  });
});
