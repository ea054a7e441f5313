/**
 * Three real engines in a Swarm, BoatLoad's swarm backend, a satellite on every node as a global
 * service: containers spread over the nodes, every per-host read works for a container on any node,
 * a killed satellite is a clear 503 naming its node until Swarm restarts it.
 */
import { Cluster, DEPLOYED_ADMIN_PASSWORD } from './harness';
import { b64, CLUSTER_SECRET, eventually, startClusterApi, type ClusterApi } from './system';

let cluster: Cluster;
let api: ClusterApi;
const ids: string[] = [];

beforeAll(async () => {
  const up = await Cluster.up(3);
  cluster = up.cluster;
  process.stdout.write(`[cluster] 3-node Swarm ready in ${up.readyMs} ms\n`);
  const started = Date.now();
  await cluster.deploySatellites(CLUSTER_SECRET);
  await cluster.waitForSatellites([1, 2, 3]);
  process.stdout.write(`[cluster] satellites (global service) answering on 3 nodes after ${Date.now() - started} ms\n`);
  api = await startClusterApi(cluster);
});

afterAll(async () => {
  await api?.close();
  await cluster?.down();
});

const auth = async (): Promise<[string, string]> => ['Authorization', `JWT ${await api.token()}`];

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await api.http().post('/v1/container/').set(...(await auth())).send(body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function stateOf(id: string): Promise<{ status: string; node: string | null; reason: string | null; copies?: string[]; docker_state: Record<string, unknown> }> {
  const res = await api.http().get(`/v1/container/${id}/state`).set(...(await auth()));
  if (res.status !== 200) throw new Error(`state: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const SCRIPT = '#!/bin/sh\necho "hello $1 from $(hostname)"\nmkdir -p /out\necho 42 > /out/answer.txt\necho more > /out/b.txt\nexec sleep 600\n';

describe('containers on three nodes', () => {
  test('spread over the three nodes, and every read works for each', async () => {
    for (const name of ['a', 'b', 'c']) {
      const id = await create({ script: b64(SCRIPT), container_args: name, permanent: false });
      ids.push(id);
      await eventually(`container ${name} running`, async () => ((await stateOf(id)).status === 'running' ? true : undefined), 60000);
    }
    const nodes = await Promise.all(ids.map(async (id) => (await stateOf(id)).node));
    expect(new Set(nodes).size).toBe(3);
    for (const node of nodes) expect(cluster.nodeOfMachine(node)).toBeDefined();

    const headers = await auth();
    for (const [i, id] of ids.entries()) {
      const name = ['a', 'b', 'c'][i];
      const host = cluster.nodeOfMachine(nodes[i]);
      const stdout = await eventually('stdout', async () => {
        const res = await api.http().get(`/v1/container/${id}/stdout`).set(...headers);
        return res.status === 200 && res.text.includes('hello') ? res.text : undefined;
      });
      expect(stdout).toContain(`hello ${name}`);
      const state = await stateOf(id);
      expect(state).toMatchObject({ status: 'running', docker_state: { Running: true } });
      expect(cluster.nodeOfMachine(state.node)?.index).toBe(host?.index);

      const changes = await eventually('changes', async () => {
        const res = await api.http().get(`/v1/container/${id}/changes`).set(...headers);
        return res.status === 200 && res.body.some((c: { Path: string }) => c.Path === '/out/answer.txt') ? res.body : undefined;
      });
      expect(changes.some((c: { Path: string }) => c.Path.startsWith('/boatload'))).toBe(false);
      const files = (await api.http().get(`/v1/container/${id}/file`).set(...headers).expect(200)).body;
      expect(files).toEqual([
        { num: 0, path: '/out/answer.txt', size: 3 },
        { num: 1, path: '/out/b.txt', size: 5 },
      ]);
      expect((await api.http().get(`/v1/container/${id}/file/out/answer.txt`).set(...headers).expect(200)).body.toString()).toBe('42\n');
      expect((await api.http().get(`/v1/container/${id}/filebynum/1`).set(...headers).expect(200)).body.toString()).toBe('more\n');
      const archive = await api.http().get(`/v1/container/${id}/archive`).set(...headers).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(archive.status).toBe(200);
      expect((archive.body as Buffer).includes(Buffer.from('out/answer.txt'))).toBe(true);
      const metrics = (await api.http().get(`/v1/container/${id}/metrics`).set(...headers).expect(200)).body;
      expect(metrics.pids).toBeGreaterThan(0);
      expect(metrics.memory.usage_bytes).toBeGreaterThan(0);
      const listing = (await api.http().get('/v1/container/').set(...headers).expect(200)).body as Array<{ id: string; node: string }>;
      expect(listing.find((c) => c.id === id)?.node).toBe(nodes[i]);
    }
  });
});

describe('the swarm backend', () => {
  test('an ephemeral container that finished: exited, its output and files readable; deleted with its service and config', async () => {
    const headers = await auth();
    const id = await create({ script: b64('#!/bin/sh\necho done\nmkdir -p /out\necho x > /out/x.txt\n'), permanent: false });
    const state = await eventually('exited', async () => {
      const current = await stateOf(id);
      return current.status === 'exited' ? current : undefined;
    });
    expect(state.docker_state).toMatchObject({ Running: false, ExitCode: 0 });
    expect((await api.http().get(`/v1/container/${id}/stdout`).set(...headers).expect(200)).text).toBe('done\n');
    expect((await api.http().get(`/v1/container/${id}/file/out/x.txt`).set(...headers).expect(200)).body.toString()).toBe('x\n');
    const manager = cluster.manager.docker;
    const labelled = { filters: { label: [`boatload.unit=${id}.service`] } };
    expect(await manager.listServices(labelled)).toHaveLength(1);
    expect(await manager.listConfigs(labelled)).toHaveLength(1);
    await api.http().delete(`/v1/container/${id}/`).set(...headers).expect(204);
    expect(await manager.listServices(labelled)).toHaveLength(0);
    expect(await manager.listConfigs(labelled)).toHaveLength(0);
  });

  test('refused at create: an image no node has, data staging, a script too large for a Swarm config', async () => {
    const headers = await auth();
    const missing = await api.http().post('/v1/container/').set(...headers).send({ image_name: 'boatload/nope' });
    expect(missing.status).toBe(400);
    expect(missing.body.image_name[0]).toMatch(/not present on the Swarm manager/);
    const data = await api.http().post('/v1/container/').set(...headers).send({ script: b64('#!/bin/sh\ntrue\n'), dataurl: 'http://example.com/data.tar', datapath: '/data' });
    expect(data.status).toBe(400);
    expect(JSON.stringify(data.body)).toMatch(/local backend only|dataurl/);
    const big = await api.http().post('/v1/container/').set(...headers).send({ script: b64(`#!/bin/sh\n#${'x'.repeat(1024000)}\n`) });
    expect(big.status).toBe(413);
    expect(big.body.detail).toMatch(/Swarm config/);
    // Nothing was left behind.
    const listing = (await api.http().get('/v1/container/').set(...headers).expect(200)).body as unknown[];
    expect(listing).toHaveLength(ids.length);
  });
});

describe('satellites', () => {
  test('a killed satellite is a 503 naming its node until Swarm restarts it', async () => {
    const headers = await auth();
    const id = ids[1];
    const node = cluster.nodeOfMachine((await stateOf(id)).node);
    if (!node) throw new Error('container has no node');
    await cluster.killSatellite(node.index);
    const refused = await eventually('a 503 from the dead satellite', async () => {
      const res = await api.http().get(`/v1/container/${id}/stdout`).set(...headers);
      return res.status === 503 ? res.body : undefined;
    }, 20000, 50);
    expect(refused.detail).toContain(node.hostname);
    expect(refused.detail).toContain(node.machineId);
    const health = await api.http().get('/health');
    expect(health.status).toBe(503);
    // Swarm restarts the satellite (restart delay 3 s); reads recover without anything else.
    const text = await eventually('stdout again', async () => {
      const res = await api.http().get(`/v1/container/${id}/stdout`).set(...headers);
      return res.status === 200 ? res.text : undefined;
    }, 60000);
    expect(text).toContain('hello b');
    await eventually('healthy again', async () => ((await api.http().get('/health')).status === 200 ? true : undefined), 30000);
  });
});

describe('the API image as a Swarm service on the manager', () => {
  test('serves containers that run on the other nodes', async () => {
    await cluster.deployApi();
    // The API reaches the engines only through satellites: no Docker socket is mounted into it.
    const service = (await cluster.manager.docker.getService('boatload-api').inspect()) as { Spec: { TaskTemplate: { ContainerSpec: { Mounts?: Array<{ Type: string; Source?: string }>; Env?: string[] } } } };
    const spec = service.Spec.TaskTemplate.ContainerSpec;
    expect((spec.Mounts ?? []).filter((mount) => mount.Type === 'bind')).toEqual([]);
    expect(spec.Env).toEqual(expect.arrayContaining([`BOATLOAD_SWARM_MANAGER_SATELLITE=http://${cluster.manager.ip}:8001`]));
    const base = `http://${cluster.manager.ip}:8000`;
    const json = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(10000) });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    await eventually('the API service answering', async () => ((await json('/health')).status === 200 ? true : undefined), 90000, 500);
    const login = await json('/api-token-auth/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: DEPLOYED_ADMIN_PASSWORD }) });
    expect(login.status).toBe(200);
    const authHeader = { authorization: `JWT ${String(login.body.token)}`, 'content-type': 'application/json' };
    let placed: { id: string; node: string } | null = null;
    for (let attempt = 0; attempt < 4 && !placed; attempt++) {
      const created = await json('/v1/container/', { method: 'POST', headers: authHeader, body: JSON.stringify({ script: b64('#!/bin/sh\necho "from the API image"\nexec sleep 600\n') }) });
      if (created.status !== 201) throw new Error(`create answered ${created.status} ${JSON.stringify(created.body)}; the API logged:\n${await cluster.serviceLogs('boatload-api')}\nthe manager's satellite logged:\n${await cluster.serviceLogs('boatload-satellite')}`);
      const id = String(created.body.id);
      const state = await eventually('running', async () => {
        const res = await json(`/v1/container/${id}/state`, { headers: authHeader });
        return res.body.status === 'running' ? res.body : undefined;
      });
      if (state.node !== cluster.manager.machineId) placed = { id, node: String(state.node) };
    }
    if (!placed) throw new Error('every container landed on the manager');
    const stdout = await eventually('stdout', async () => {
      const res = await fetch(`${base}/v1/container/${placed?.id}/stdout`, { headers: authHeader });
      const text = await res.text();
      return res.status === 200 && text.includes('from the API image') ? text : undefined;
    });
    expect(stdout).toContain('from the API image');
  });
});

describe('[X-Fleet] across nodes (fleet unit API)', () => {
  const unit = (name: string, extra: Array<[string, string, string]> = []): { desiredState: string; options: Array<{ section: string; name: string; value: string }> } => ({
    desiredState: 'launched',
    options: [
      { section: 'Service', name: 'ExecStart', value: `/usr/bin/docker run --name ${name} boatload/base:latest sleep 600` },
      ...extra.map(([section, key, value]) => ({ section, name: key, value })),
    ],
  });
  const put = async (name: string, body: ReturnType<typeof unit>): Promise<void> => {
    const res = await api.http().put(`/fleet/v1/units/${name}.service`).set(...(await auth())).send(body);
    if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const unitOf = async (name: string): Promise<{ machineID?: string; currentState?: string; reason?: string }> =>
    (await api.http().get(`/fleet/v1/units/${name}.service`).set(...(await auth())).expect(200)).body;

  test('MachineMetadata comes from node labels and is honoured; Conflicts keep units apart', async () => {
    for (const [index, labels] of [[2, { disk: 'ssd', zone: 'b' }], [3, { disk: 'ssd', zone: 'c' }]] as const) await cluster.labelNode(index, labels);
    const machines = await eventually('labels as metadata', async () => {
      const res = await api.http().get('/fleet/v1/machines').set(...(await auth())).expect(200);
      const list = res.body.machines as Array<{ id: string; metadata?: Record<string, string> }>;
      return list.filter((m) => m.metadata?.disk === 'ssd').length === 2 ? list : undefined;
    });
    expect(machines.map((m) => m.id).sort()).toEqual([1, 2, 3].map((i) => cluster.node(i).machineId).sort());

    await put('zonec', unit('zonec', [['X-Fleet', 'MachineMetadata', 'zone=c']]));
    expect((await unitOf('zonec')).machineID).toBe(cluster.node(3).machineId);
    expect(await cluster.runningTasksOn(3, 'zonec')).toHaveLength(1);

    const conflicting = (name: string): ReturnType<typeof unit> => unit(name, [['X-Fleet', 'MachineMetadata', 'disk=ssd'], ['X-Fleet', 'Conflicts', 'ssd*.service']]);
    await put('ssd1', conflicting('ssd1'));
    await put('ssd2', conflicting('ssd2'));
    const first = await unitOf('ssd1');
    const second = await unitOf('ssd2');
    const ssdMachines = [cluster.node(2).machineId, cluster.node(3).machineId];
    expect(ssdMachines).toContain(first.machineID);
    expect(ssdMachines).toContain(second.machineID);
    expect(first.machineID).not.toBe(second.machineID);
    // A third one has nowhere to go: it is not placed, and says why.
    await put('ssd3', conflicting('ssd3'));
    const third = await unitOf('ssd3');
    expect(third.machineID).toBeUndefined();
    expect(third.reason).toMatch(/conflict/);
    for (const name of ['zonec', 'ssd1', 'ssd2', 'ssd3']) await api.http().delete(`/fleet/v1/units/${name}.service`).set(...(await auth())).expect(204);
  });

  test('a Global=true unit runs once on every node, including a node that joins later', async () => {
    await put('everywhere', unit('everywhere', [['X-Fleet', 'Global', 'true']]));
    for (const index of [1, 2, 3]) {
      await eventually(`global task on node ${index}`, async () => ((await cluster.runningTasksOn(index, 'everywhere')).length === 1 ? true : undefined));
    }
    const started = Date.now();
    await cluster.add(4);
    await eventually('global task on the new node', async () => ((await cluster.runningTasksOn(4, 'everywhere')).length === 1 ? true : undefined), 90000);
    await cluster.waitForSatellites([4]);
    process.stdout.write(`[cluster] node 4 joined; global unit and satellite running there after ${Date.now() - started} ms\n`);
    for (const index of [1, 2, 3, 4]) expect(await cluster.runningTasksOn(index, 'everywhere')).toHaveLength(1);
    const machines = (await api.http().get('/fleet/v1/machines').set(...(await auth())).expect(200)).body.machines as Array<{ id: string }>;
    expect(machines.map((m) => m.id)).toContain(cluster.node(4).machineId);
  });
});

describe('fleet cycle on swarm: start, stop, start again (every start a fresh task)', () => {
  const options = (name: string, rm: boolean): Array<{ section: string; name: string; value: string }> => [
    { section: 'Service', name: 'ExecStartPre', value: `-/usr/bin/docker rm -f ${name}` },
    // Exits 0 on SIGTERM, so that a stop leaves it inactive/dead rather than failed (killed).
    { section: 'Service', name: 'ExecStart', value: `/usr/bin/docker run ${rm ? '--rm ' : ''}--name ${name} boatload/base:latest sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"` },
    { section: 'Service', name: 'ExecStop', value: `/usr/bin/docker stop ${name}` },
  ];
  const setState = async (name: string, desiredState: string): Promise<void> => {
    const res = await api.http().put(`/fleet/v1/units/${name}.service`).set(...(await auth())).send({ desiredState });
    if (res.status !== 204) throw new Error(`PUT ${name} ${desiredState}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const systemdOf = async (name: string): Promise<string> => {
    const res = await api.http().get(`/fleet/v1/state/${name}.service`).set(...(await auth()));
    return res.status === 200 ? `${res.body.systemdActiveState}/${res.body.systemdSubState}` : `HTTP ${res.status}`;
  };

  /** True once the unit shows `wanted`; otherwise throws what it shows and its tasks (the timeout's message). */
  const reached = async (name: string, wanted: string): Promise<true> => {
    const seen = await systemdOf(name);
    if (seen === wanted) return true;
    const unit = (await api.http().get(`/fleet/v1/units/${name}.service`).set(...(await auth()))).body as { currentState?: string };
    const services = (await cluster.manager.docker.listServices({ filters: { label: [`boatload.unit=${name}.service`] } })) as Array<{ ID: string }>;
    const tasks = (services.length === 0 ? [] : await cluster.manager.docker.listTasks({ filters: { service: services.map((service) => service.ID) } })) as Array<{ DesiredState: string; Status: { State: string; Err?: string } }>;
    const taskText = tasks.map((task) => `${task.DesiredState}/${task.Status.State}${task.Status.Err ? ` (${task.Status.Err})` : ''}`).join(', ');
    throw new Error(`${seen}, currentState ${unit.currentState}, tasks [${taskText}]`);
  };

  test.each([
    ['with --rm', true],
    ['without --rm', false],
  ])('%s: start, stop, start, stop, destroy', async (label, rm) => {
    const name = `cycle-${rm ? 'rm' : 'keep'}`;
    const created = await api.http().put(`/fleet/v1/units/${name}.service`).set(...(await auth())).send({ options: options(name, rm) });
    expect(created.status).toBe(201);
    for (const round of [1, 2, 3]) {
      const started = Date.now();
      await setState(name, 'launched');
      await eventually(`${name} active (start ${round})`, async () => reached(name, 'active/running'), 30000);
      process.stdout.write(`[cluster] fleet cycle ${label}: start ${round} active/running after ${Date.now() - started} ms\n`);
      await setState(name, 'loaded');
      await eventually(`${name} stopped (stop ${round})`, async () => reached(name, 'inactive/dead'), 30000);
    }
    await api.http().delete(`/fleet/v1/units/${name}.service`).set(...(await auth())).expect(204);
    await api.http().get(`/fleet/v1/units/${name}.service`).set(...(await auth())).expect(404);
  });
});
