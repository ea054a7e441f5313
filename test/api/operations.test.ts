/** Operations (start, stop, restart, batch create) on a real engine, stored durably. */
import { b64 } from '../support/system';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  system = await startSandboxSystem({ BOATLOAD_STOP_TIMEOUT_SECONDS: '2', BOATLOAD_BATCH_MAX_REQUESTS: '5' });
  admin = await system.token('admin');
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  await system.close();
}, 180000);

async function post(token: string, path: string, body: object = {}): Promise<{ id: string; location: string; operation: Record<string, unknown> }> {
  const res = await system.http().post(path).set(...system.auth(token)).send(body).expect(202);
  expect(res.body.operation).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), status: expect.stringMatching(/^(pending|running)$/), created: expect.any(String), updated: expect.any(String) });
  expect(res.headers.location).toBe(`/v1/operations/${res.body.operation.id}`);
  return { id: res.body.operation.id, location: res.headers.location, operation: res.body.operation };
}

describe('start, stop, restart', () => {
  let id: string;

  beforeAll(async () => {
    id = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
  });

  test('stop answers 202 and an operation that ends succeeded with the stopped container', async () => {
    const { id: op, operation } = await post(alice, `/v1/container/${id}/stop`);
    expect(operation).toMatchObject({ kind: 'stop', target: `/v1/container/${id}/` });
    const done = await system.operation(alice, op);
    expect(done).toMatchObject({ status: 'succeeded', kind: 'stop', result: { container: { id, status: 'exited' } } });
    expect(done.error).toBeUndefined();
    await system.http().post(`/v1/container/${id}/exec`).set(...system.auth(alice)).send({ cmd: ['true'] }).expect(409);
  });

  test('start runs it again; restart gives it a new start', async () => {
    const started = await system.operation(alice, (await post(alice, `/v1/container/${id}/start`)).id);
    expect(started).toMatchObject({ status: 'succeeded', result: { container: { status: 'running' } } });
    await system.http().post(`/v1/container/${id}/exec`).set(...system.auth(alice)).send({ cmd: ['true'] }).expect(200);
    const before = (await system.http().get(`/v1/container/${id}/state`).set(...system.auth(alice))).body.docker_state.StartedAt;
    const restarted = await system.operation(alice, (await post(alice, `/v1/container/${id}/restart`)).id);
    expect(restarted).toMatchObject({ status: 'succeeded', kind: 'restart', result: { container: { status: 'running' } } });
    const after = (await system.http().get(`/v1/container/${id}/state`).set(...system.auth(alice))).body.docker_state.StartedAt;
    expect(after).not.toBe(before);
  });

  test('start re-runs a script container that already ran', async () => {
    const job = await system.create(alice, { script: b64('#!/bin/sh\necho run\n') }, 'wait=ready');
    const done = await system.operation(alice, (await post(alice, `/v1/container/${job}/start`)).id);
    expect(done.status).toBe('succeeded');
    const out = await system.http().get(`/v1/container/${job}/stdout?follow=true`).set(...system.auth(alice)).expect(200);
    expect(out.text).toBe('run\nrun\n');
  });

  test('an operation that fails says why', async () => {
    const broken = await system.create(alice, { container_args: ['/no/such/binary'] }, 'wait=ready');
    const done = await system.operation(alice, (await post(alice, `/v1/container/${broken}/start`)).id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/no such file|not found|executable/i);
  });

  test("someone else's container is a 404 and no operation is made; an admin may act", async () => {
    const before = (await system.http().get('/v1/operations/').set(...system.auth(bob))).body.operations.length;
    await system.http().post(`/v1/container/${id}/stop`).set(...system.auth(bob)).expect(404);
    await system.http().post(`/v1/container/${'a'.repeat(32)}/restart`).set(...system.auth(alice)).expect(404);
    expect((await system.http().get('/v1/operations/').set(...system.auth(bob))).body.operations.length).toBe(before);
    const byAdmin = await post(admin, `/v1/container/${id}/start`);
    expect((await system.operation(admin, byAdmin.id)).status).toBe('succeeded');
  });
});

describe('GET /v1/operations/', () => {
  test('lists your operations newest first; another user gets a 404 for them; admins see all', async () => {
    const id = await system.create(alice, { container_args: ['sleep', '600'] });
    const { id: op } = await post(alice, `/v1/container/${id}/start`);
    await system.operation(alice, op);
    const mine = await system.http().get('/v1/operations').set(...system.auth(alice)).expect(200);
    expect(mine.body.operations[0]).toMatchObject({ id: op, kind: 'start' });
    expect(mine.body.operations.every((o: { target: string }) => typeof o.target === 'string')).toBe(true);
    await system.http().get(`/v1/operations/${op}`).set(...system.auth(bob)).expect(404);
    expect((await system.http().get('/v1/operations').set(...system.auth(bob))).body.operations.some((o: { id: string }) => o.id === op)).toBe(false);
    await system.http().get(`/v1/operations/${op}/`).set(...system.auth(admin)).expect(200);
    await system.http().get('/v1/operations/not-an-id').set(...system.auth(alice)).expect(404);
    await system.http().get(`/v1/operations/${op}`).expect(401);
  });
});

describe('POST /v1/container/batch', () => {
  test('one operation whose result lists each container id or its error', async () => {
    const { id: op, operation } = await post(alice, '/v1/container/batch', {
      requests: [
        { container_args: ['sleep', '60'] },
        { image_name: 'Not A Name' },
        { script: b64('#!/bin/sh\necho batch\n') },
        { image_name: 'boatload/not-present' },
        'not an object',
      ],
    });
    expect(operation).toMatchObject({ kind: 'batch_create', target: '/v1/container/' });
    const done = await system.operation(alice, op);
    expect(done.status).toBe('succeeded');
    const result = done.result as { created: number; failed: number; containers: Array<{ index: number; id?: string; error?: { status: number; body: Record<string, unknown> } }> };
    expect(result.created).toBe(2);
    expect(result.failed).toBe(3);
    expect(result.containers.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
    expect(result.containers[1]?.error).toMatchObject({ status: 400, body: { image_name: [expect.any(String)] } });
    expect(result.containers[3]?.error).toMatchObject({ status: 400, body: { image_name: [expect.stringMatching(/not present/)] } });
    expect(result.containers[4]?.error?.status).toBe(400);
    for (const index of [0, 2]) {
      const id = result.containers[index]?.id as string;
      await system.http().get(`/v1/container/${id}`).set(...system.auth(alice)).expect(200);
      await system.http().get(`/v1/container/${id}`).set(...system.auth(bob)).expect(404);
    }
  });

  test('more than the maximum, or no list, is a 400 and no operation', async () => {
    const six = Array.from({ length: 6 }, () => ({ container_args: ['true'] }));
    expect((await system.http().post('/v1/container/batch').set(...system.auth(alice)).send({ requests: six }).expect(400)).body.requests[0]).toMatch(/At most 5/);
    await system.http().post('/v1/container/batch').set(...system.auth(alice)).send({ requests: [] }).expect(400);
    await system.http().post('/v1/container/batch').set(...system.auth(alice)).send({ other: 1 }).expect(400);
    await system.http().post('/v1/container/batch').send({ requests: [{}] }).expect(401);
  });
});

describe('an API restart', () => {
  test('marks an operation that was still running failed: "interrupted by an API restart"', async () => {
    // sleep as pid 1 ignores SIGTERM, so the stop waits the whole stop timeout (2 s).
    const id = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
    const { id: op } = await post(alice, `/v1/container/${id}/restart`);
    await system.restartApi();
    const res = await system.http().get(`/v1/operations/${op}`).set(...system.auth(alice)).expect(200);
    expect(res.body.operation).toMatchObject({ id: op, status: 'failed', error: 'interrupted by an API restart' });
    // Finished operations are kept as they were.
    const list = await system.http().get('/v1/operations').set(...system.auth(alice)).expect(200);
    expect(list.body.operations.filter((o: { status: string }) => o.status === 'succeeded').length).toBeGreaterThan(0);
  });
});
