/** Snapshots (engine commit), containers from snapshots, and forks, on a real engine. */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let alice: string;
let bob: string;
let admin: string;
let original: string;
const agent = new Agent({ keepAlive: false });
const docker = new Docker({ agent } as Docker.DockerOptions);

beforeAll(async () => {
  system = await startSandboxSystem({ BOATLOAD_FORK_MAX_COUNT: '3' });
  admin = await system.token('admin');
  alice = await system.token('alice');
  bob = await system.token('bob');
  original = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
});

afterAll(async () => {
  await system.close();
  agent.destroy();
}, 180000);

async function run(token: string, id: string, command: string): Promise<{ exit_code: number; stdout: string }> {
  const res = await system.http().post(`/v1/container/${id}/exec`).set(...system.auth(token)).send({ cmd: ['/bin/sh', '-c', command] }).expect(200);
  return res.body;
}

async function operationOf(token: string, path: string, body: object = {}): Promise<Record<string, unknown>> {
  const res = await system.http().post(path).set(...system.auth(token)).send(body).expect(202);
  return system.operation(token, res.body.operation.id as string, 60000);
}

describe('snapshots', () => {
  let snapshot: { id: string; image: string; owner: string; container: string; name: string; size: number };

  beforeAll(async () => {
    await run(alice, original, 'mkdir -p /work && echo v1 > /work/state.txt');
    const done = await operationOf(alice, `/v1/container/${original}/snapshot`, { name: 'first' });
    expect(done).toMatchObject({ status: 'succeeded', kind: 'snapshot' });
    snapshot = (done.result as { snapshot: typeof snapshot }).snapshot;
  });

  test('the snapshot is an engine image named boatload/snapshot:<id>, labelled, with a record', async () => {
    expect(snapshot).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), owner: 'alice', container: original, name: 'first', image: `boatload/snapshot:${snapshot.id}` });
    const image = await docker.getImage(snapshot.image).inspect();
    expect(image.Config.Labels).toMatchObject({ 'boatload.snapshot': snapshot.id, 'boatload.owner': 'alice', 'boatload.instance': system.api.instanceId, 'boatload.source-container': original });
    expect((await system.http().get('/v1/snapshots/').set(...system.auth(alice)).expect(200)).body).toEqual([expect.objectContaining({ id: snapshot.id })]);
    expect((await system.http().get(`/v1/snapshots/${snapshot.id}`).set(...system.auth(alice)).expect(200)).body).toMatchObject({ id: snapshot.id, size: expect.any(Number) });
    // The original kept running.
    expect((await system.http().get(`/v1/container/${original}/`).set(...system.auth(alice))).body.status).toBe('running');
  });

  test('a container created from a snapshot starts with its files', async () => {
    const res = await system.http().post('/v1/container/?wait=ready').set(...system.auth(alice)).send({ snapshot: snapshot.id, container_args: ['sleep', '600'] }).expect(201);
    expect(res.body).toMatchObject({ snapshot: snapshot.id, image: snapshot.image, readiness: { status: 'ready' } });
    expect((await run(alice, res.body.id, 'cat /work/state.txt')).stdout).toBe('v1\n');
  });

  test('a snapshot with image_name, or an unknown or foreign snapshot, is a 400', async () => {
    const both = await system.http().post('/v1/container/').set(...system.auth(alice)).send({ snapshot: snapshot.id, image_name: 'boatload/base' }).expect(400);
    expect(both.body.snapshot).toBeDefined();
    const foreign = await system.http().post('/v1/container/').set(...system.auth(bob)).send({ snapshot: snapshot.id }).expect(400);
    expect(foreign.body).toEqual({ snapshot: [`There is no snapshot ${snapshot.id}.`] });
  });

  test("someone else's snapshot is a 404 for every route; an admin sees it", async () => {
    await system.http().get(`/v1/snapshots/${snapshot.id}`).set(...system.auth(bob)).expect(404);
    await system.http().delete(`/v1/snapshots/${snapshot.id}`).set(...system.auth(bob)).expect(404);
    expect((await system.http().get('/v1/snapshots/').set(...system.auth(bob)).expect(200)).body).toEqual([]);
    await system.http().post(`/v1/container/${original}/snapshot`).set(...system.auth(bob)).send({}).expect(404);
    await system.http().get(`/v1/snapshots/${snapshot.id}`).set(...system.auth(admin)).expect(200);
  });

  test('deleting a snapshot in use is a 409; once unused, delete removes its image', async () => {
    const user = (await system.http().get('/v1/container/').set(...system.auth(alice))).body.find((c: { image: string }) => c.image === snapshot.image).id as string;
    const busy = await system.http().delete(`/v1/snapshots/${snapshot.id}`).set(...system.auth(alice)).expect(409);
    expect(busy.body.detail).toContain(user);
    await system.http().delete(`/v1/container/${user}`).set(...system.auth(alice)).expect(204);
    const deleted = await system.http().delete(`/v1/snapshots/${snapshot.id}`).set(...system.auth(alice));
    expect([deleted.status, deleted.body]).toEqual([204, {}]);
    await system.http().get(`/v1/snapshots/${snapshot.id}`).set(...system.auth(alice)).expect(404);
    await expect(docker.getImage(snapshot.image).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('forks', () => {
  test('copies start from the original at that moment and then diverge; the original is untouched', async () => {
    await run(alice, original, 'echo before-fork > /work/state.txt');
    const done = await operationOf(alice, `/v1/container/${original}/fork`, { count: 2 });
    expect(done).toMatchObject({ status: 'succeeded', kind: 'fork', target: `/v1/container/${original}/` });
    const result = done.result as { snapshot: { id: string }; containers: string[] };
    expect(result.containers).toHaveLength(2);
    const [a, b] = result.containers as [string, string];
    for (const copy of [a, b]) {
      const ready = await system.http().get(`/v1/container/${copy}/ready?timeout=20`).set(...system.auth(alice)).expect(200);
      expect(ready.body).toMatchObject({ owner: 'alice', snapshot: result.snapshot.id, readiness: { status: 'ready' } });
      expect((await run(alice, copy, 'cat /work/state.txt')).stdout).toBe('before-fork\n');
    }
    await run(alice, a, 'echo copy-a > /work/state.txt');
    await run(alice, b, 'echo copy-b > /work/state.txt');
    await run(alice, original, 'echo original-after > /work/state.txt');
    expect((await run(alice, a, 'cat /work/state.txt')).stdout).toBe('copy-a\n');
    expect((await run(alice, b, 'cat /work/state.txt')).stdout).toBe('copy-b\n');
    expect((await run(alice, original, 'cat /work/state.txt')).stdout).toBe('original-after\n');
    const state = await system.http().get(`/v1/container/${original}/state`).set(...system.auth(alice)).expect(200);
    expect(state.body.docker_state).toMatchObject({ Running: true, Restarting: false });
  });

  test('count above the maximum is a 400; a foreign container is a 404', async () => {
    const res = await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(alice)).send({ count: 4 }).expect(400);
    expect(res.body.count[0]).toMatch(/At most 3/);
    await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(alice)).send({ count: 'two' }).expect(400);
    await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(bob)).send({ count: 1 }).expect(404);
  });
});
