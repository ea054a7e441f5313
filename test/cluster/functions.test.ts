/**
 * Functions' own warm capacity on a real Swarm: a function's min_warm members are spread over the
 * schedulable nodes (here the two workers: the manager, node 1, is drained), each a member on that
 * node's engine labelled with the function's tag; GET counts them from the engines; an invocation
 * takes one (cold: false, right output) and the capacity refills; when a node stops being
 * schedulable its share moves to the other node, and comes back with it. Warm takes spread over the
 * nodes (nodes tied on idle members take turns), a function's invocations as the classes' runs. A cold invocation (a function that keeps nothing
 * and fits no class) answers too, once its service's task is placed. Figures are printed: warm
 * against cold invocations, and where the takes went.
 */
import type { Cluster } from './harness';
import { b64, eventually, workersWithApi, workerPoolsFull, type ClusterApi } from './system';

let cluster: Cluster;
let api: ClusterApi;
const POOL = 2;
const WARM_LABEL = 'boatload.warm-pool';
const TAG_LABEL = 'boatload.warm-tag';
// A class of the installation, so that the tie-break of shared takes can be seen; the functions
// below ask for another memory limit, so that only their own members (or none) fit them.
const API_ENV = { BOATLOAD_WARM_POOL: `boatload/base:latest=${POOL}`, BOATLOAD_WARM_POOL_MIN_AVAILABLE_BYTES: '0' };
const FUNCTION_MEMORY = 96 * 1024 * 1024;

interface Capacity {
  state: string;
  warm: number;
  warming: number;
  target: number;
  in_flight: number;
}

beforeAll(async () => {
  ({ cluster, api } = await workersWithApi({ scriptDirs: true, apiEnv: API_ENV }));
});

afterAll(async () => {
  await api?.close();
  await cluster?.down();
});

const auth = async (): Promise<[string, string]> => ['Authorization', `JWT ${await api.token()}`];

async function capacity(name: string): Promise<Capacity> {
  return (await api.http().get(`/v1/functions/${name}`).set(...(await auth())).expect(200)).body.capacity as Capacity;
}

/** A function's members on each node's engine: running, with its tag. */
async function membersByNode(tag: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const index of [1, 2, 3]) {
    const listed = await cluster.node(index).docker.listContainers({ all: true, filters: { label: [`${TAG_LABEL}=${tag}`] } });
    // An invocation answers once its container exited: a running one is idle (or being taken now).
    counts.set(index, listed.filter((c) => c.State === 'running').length);
  }
  return counts;
}

/** The names of a function's running members on each worker. */
async function runningMembers(tag: string): Promise<Map<number, string[]>> {
  const names = new Map<number, string[]>();
  for (const index of [2, 3]) {
    const listed = await cluster.node(index).docker.listContainers({ filters: { label: [`${TAG_LABEL}=${tag}`] } });
    names.set(index, listed.map((c) => c.Names[0].slice(1)));
  }
  return names;
}

const spreadIs = (tag: string, want: Record<number, number>): Promise<true> =>
  eventually(
    `members of ${tag} spread as ${JSON.stringify(want)}`,
    async () => {
      const counts = await membersByNode(tag);
      return [1, 2, 3].every((index) => (counts.get(index) ?? 0) === (want[index] ?? 0)) ? true : undefined;
    },
    90_000,
  );


async function invoke(name: string, arg: string): Promise<{ exit_code: number; stdout: string; cold: boolean; duration_ms: number }> {
  const res = await api.http().post(`/v1/functions/${name}/invoke`).set(...(await auth())).send({ args: [arg] });
  if (res.status !== 200) throw new Error(`invoke ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  // The whole answer when the run failed (an assertion's diff shows only the fields it names).
  if (res.body.exit_code !== 0) process.stdout.write(`[cluster] invoke ${name} ${arg} answered ${JSON.stringify(res.body)}\n`);
  return res.body as { exit_code: number; stdout: string; cold: boolean; duration_ms: number };
}

const SCRIPT = b64('#!/bin/sh\necho "hello $1 from $WHO"\n');
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

describe('functions on the swarm backend', () => {
  test('min_warm 2 is spread over the workers, counted from their engines; an invocation runs warm and the capacity refills; a node that goes hands its share over', async () => {
    const headers = await auth();
    const name = 'kept-swarm';
    const tag = `function:admin/${name}`;
    await api.http().post('/v1/functions').set(...headers).send({ name, script: SCRIPT, env: { WHO: 'swarm' }, memory: FUNCTION_MEMORY, min_warm: 2, max_warm: 2, timeout: 30 }).expect(201);
    // One member on each worker, none on the drained manager, each labelled with the function's tag.
    await spreadIs(tag, { 2: 1, 3: 1 });
    expect(await eventually('GET shows two warm', async () => ((await capacity(name)).warm === 2 ? true : undefined))).toBe(true);
    expect(await capacity(name)).toEqual({ state: 'warm', warm: 2, warming: 0, target: 2, in_flight: 0 });
    for (const index of [2, 3]) {
      const [member] = await cluster.node(index).docker.listContainers({ filters: { label: [`${TAG_LABEL}=${tag}`] } });
      expect(member.Labels[WARM_LABEL]).toBeDefined();
      expect(member.Labels['boatload.owner']).toBeUndefined();
    }

    // Warm (its memory fits no class: only its own members can serve it), its output right.
    const warm: number[] = [];
    for (const arg of ['a', 'b', 'c', 'd']) {
      const result = await invoke(name, arg);
      expect(result).toMatchObject({ exit_code: 0, stdout: `hello ${arg} from swarm\n`, cold: false });
      warm.push(result.duration_ms);
      // The capacity refills: one member on each worker again before the next.
      await spreadIs(tag, { 2: 1, 3: 1 });
    }
    expect(await eventually('GET shows two warm again', async () => ((await capacity(name)).warm === 2 ? true : undefined))).toBe(true);

    // A function that keeps nothing and fits no class runs cold: a service, placed by Swarm.
    await api.http().post('/v1/functions').set(...headers).send({ name: 'cold-swarm', script: SCRIPT, env: { WHO: 'swarm' }, memory: FUNCTION_MEMORY + 1024 * 1024, min_warm: 0, max_warm: 0, timeout: 30 }).expect(201);
    const cold: number[] = [];
    for (const arg of ['a', 'b', 'c']) {
      const result = await invoke('cold-swarm', arg);
      expect(result).toMatchObject({ exit_code: 0, stdout: `hello ${arg} from swarm\n`, cold: true });
      cold.push(result.duration_ms);
    }
    process.stdout.write(`[cluster] internet function invoke on Swarm (duration_ms): warm ${warm.join(' / ')} (median ${median(warm)}), cold ${cold.join(' / ')} (median ${median(cold)})\n`);

    // Node 3 drained: its pool closes, node 2 keeps both members; active again: one each.
    await cluster.setAvailability(3, 'drain');
    await spreadIs(tag, { 2: 2 });
    expect(await invoke(name, 'e')).toMatchObject({ exit_code: 0, stdout: 'hello e from swarm\n', cold: false });
    await cluster.setAvailability(3, 'active');
    await spreadIs(tag, { 2: 1, 3: 1 });

    await api.http().delete(`/v1/functions/${name}`).set(...headers).expect(204);
    await api.http().delete('/v1/functions/cold-swarm').set(...headers).expect(204);
    await spreadIs(tag, {});
  });

  test('a `none` function (members on no network, nothing to join at the take): warm and cold invocations, timed', async () => {
    const headers = await auth();
    const tag = 'function:admin/kept-none';
    const body = { script: SCRIPT, env: { WHO: 'none' }, network: 'none', timeout: 30 };
    await api.http().post('/v1/functions').set(...headers).send({ ...body, name: 'kept-none', memory: FUNCTION_MEMORY, min_warm: 2, max_warm: 2 }).expect(201);
    await api.http().post('/v1/functions').set(...headers).send({ ...body, name: 'cold-none', memory: FUNCTION_MEMORY + 1024 * 1024, min_warm: 0, max_warm: 0 }).expect(201);
    await spreadIs(tag, { 2: 1, 3: 1 });
    const warm: number[] = [];
    const cold: number[] = [];
    const takenOn: number[] = [];
    for (const arg of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const before = await runningMembers(tag);
      const hot = await invoke('kept-none', arg);
      expect(hot).toMatchObject({ exit_code: 0, stdout: `hello ${arg} from none\n`, cold: false });
      warm.push(hot.duration_ms);
      // The member it ran in is the one that stops running (the answer may come a moment before
      // the engine records the exit: the member reports its run itself, satellite/warm-reports.ts).
      const gone = await eventually('the taken member to stop', async () => {
        const after = await runningMembers(tag);
        const stopped = [2, 3].filter((index) => (before.get(index) ?? []).some((name) => !(after.get(index) ?? []).includes(name)));
        return stopped.length > 0 ? stopped : undefined;
      });
      expect(gone).toHaveLength(1);
      takenOn.push(gone[0]);
      const chill = await invoke('cold-none', arg);
      expect(chill).toMatchObject({ exit_code: 0, stdout: `hello ${arg} from none\n`, cold: true });
      cold.push(chill.duration_ms);
      await spreadIs(tag, { 2: 1, 3: 1 });
    }
    process.stdout.write(`[cluster] none function invoke on Swarm (duration_ms): warm ${warm.join(' / ')} (median ${median(warm)}), cold ${cold.join(' / ')} (median ${median(cold)}); warm takes on nodes ${takenOn.join(' ')}\n`);
    // Between two invocations the capacity refilled (one member on each worker): they take turns,
    // whatever other takes happen in between (here the cold function's, which finds nothing).
    expect(takenOn.filter((index) => index === 2).length).toBe(3);
    expect(takenOn.filter((index) => index === 3).length).toBe(3);
    for (const name of ['kept-none', 'cold-none']) await api.http().delete(`/v1/functions/${name}`).set(...headers).expect(204);
    await spreadIs(tag, {});
  });

  test('min_warm on a command function is refused on swarm as on one host (400 naming min_warm)', async () => {
    const res = await api.http().post('/v1/functions').set(...(await auth())).send({ name: 'cmd-swarm', cmd: ['echo', 'hi'], min_warm: 1 });
    expect(res.status).toBe(400);
    expect(res.body.min_warm).toBeDefined();
  });

  test('warm takes spread over the workers: nodes tied on idle members take turns', async () => {
    const headers = await auth();
    const nodes: number[] = [];
    const ids: string[] = [];
    let cold = 0;
    for (let i = 0; i < 10; i++) {
      // Between two takes every pool refills: the nodes are tied, as they are under a steady load.
      await workerPoolsFull(api, cluster, POOL);
      const res = await api.http().post('/v1/container/').set(...headers).send({ script: SCRIPT, container_args: String(i), permanent: false }).expect(201);
      const id = res.body.id as string;
      ids.push(id);
      const state = await eventually(`${id} exited`, async () => {
        const s = (await api.http().get(`/v1/container/${id}/state`).set(...headers).expect(200)).body as { status: string; node: string | null };
        return s.status === 'exited' ? s : undefined;
      });
      const node = cluster.nodeOfMachine(state.node);
      if (!node) throw new Error(`${id} ran on ${state.node}`);
      // Warm: the member itself, with the pool's label. A take whose overlay join the node kept
      // refusing runs cold (documented: "Warm pools on Swarm"), a service task of another name.
      const member = await node.docker.getContainer(`boatload-${id}`).inspect().catch(() => null);
      if (member) expect(member.Config.Labels[WARM_LABEL]).toBeDefined();
      else cold++;
      nodes.push(node.index);
    }
    const on = (index: number): number => nodes.filter((n) => n === index).length;
    process.stdout.write(`[cluster] 10 warm takes (pools refilled between): node 2 ${on(2)}, node 3 ${on(3)} (${nodes.join(' ')}); ${cold} ran cold\n`);
    expect(cold).toBeLessThanOrEqual(2);
    expect(on(2)).toBeGreaterThanOrEqual(3);
    expect(on(3)).toBeGreaterThanOrEqual(3);
    for (const id of ids) await api.http().delete(`/v1/container/${id}/`).set(...headers).expect(204);
  });
});
