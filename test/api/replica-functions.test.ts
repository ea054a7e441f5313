/**
 * Functions across two API replicas on the real PostgreSQL server and the real engine (issues 14
 * and 17): nothing a function needs lives in one replica's memory. A function defined on one replica
 * is invoked on the other (its stdin staged from the store) and the first one's GET shows that
 * invocation; max_concurrency counts the invocations of both replicas (429 with Retry-After); the
 * slots are taken atomically and a dead replica's slots free themselves at their deadline; the
 * leader keeps every function's min_warm members, and when it stops the new leader brings them back.
 */
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { silentLogger } from '../../common/logger';
import { LABELS } from '../../common/labels';
import { hashPassword } from '../../api/auth/passwords';
import { loadApiConfig } from '../../api/config';
import { buildApiServer, type ApiServer } from '../../api/server';
import { FunctionInvocationRepository } from '../../api/store/function-invocations';
import { ContainerRepository } from '../../api/store/containers';
import { workloadResolver } from '../../api/containers/workloads';
import { emptySpec } from '../../common/container-spec';
import { renderContainerUnit } from '../../units/container-unit';
import { newUnitRecord } from '../../units/scheduler/scheduler';
import { unitHash } from '../../units/unit-file';
import { PostgresDatabase } from '../../api/store/postgres-database';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { b64, eventually, PASSWORD, removeInstanceContainers, startSatellite, TEST_PASSWORD_ITERATIONS, testApiEnv, type SatelliteHandle } from '../support/system';

const engineAgent = new Agent({ keepAlive: false });
const docker = new Docker({ agent: engineAgent } as Docker.DockerOptions);
let database: TestDatabase;
let satellite: SatelliteHandle;
const dirs: string[] = [];
const replicas: ApiServer[] = [];
let a: ApiServer;
let b: ApiServer;
let alice: string;

async function startReplica(): Promise<ApiServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'boatload-replica-fn-'));
  dirs.push(dataDir);
  const adminHash = await hashPassword('admin', TEST_PASSWORD_ITERATIONS);
  const config = loadApiConfig({ ...testApiEnv({ dataDir, adminHash, satelliteUrl: satellite.url }), BOATLOAD_DATABASE_URL: database.url });
  const api = await buildApiServer(config, silentLogger);
  await api.listen();
  replicas.push(api);
  return api;
}

beforeAll(async () => {
  database = await createTestDatabase('boatload_replica_functions');
  satellite = await startSatellite({ scriptDir: join(mkdtempSync(join(tmpdir(), 'boatload-replica-fn-scripts-')), 'scripts') });
  // One after the other: the first takes the lead (its lease is held before the second asks).
  a = await startReplica();
  await eventually(async () => (a.leadership.isLeader() ? true : undefined), 10_000, 'the first replica to lead');
  b = await startReplica();
  const admin = (await request(a.app).post('/api-token-auth/').send({ username: 'admin', password: 'admin' }).expect(200)).body.token as string;
  await request(a.app).post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'alice', password: PASSWORD }).expect(201);
  alice = (await request(b.app).post('/api-token-auth/').send({ username: 'alice', password: PASSWORD }).expect(200)).body.token as string;
}, 60_000);

afterAll(async () => {
  const instanceId = a?.instanceId;
  for (const api of replicas) await api.close().catch(() => undefined);
  await satellite?.close();
  if (instanceId) await removeInstanceContainers(instanceId);
  await database?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  engineAgent.destroy();
});

const auth = (): [string, string] => ['Authorization', `JWT ${alice}`];

async function members(tag: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${a.instanceId}`, `${LABELS.warmTag}=${tag}`], status: ['running'] } });
  return list.map((c) => c.Names[0].replace(/^\//, '')).sort();
}

test('a function defined on one replica is invoked on the other, stdin and all; GET on the first shows that invocation', async () => {
  await request(a.app).post('/v1/functions').set(...auth()).send({ name: 'reader', script: b64('#!/bin/sh\necho "[$1]"\ncat\n') }).expect(201);
  const data = Buffer.from('from the store\n');
  const ran = await request(b.app).post('/v1/functions/reader/invoke').set(...auth()).send({ args: ['b'], stdin: data.toString('base64') }).expect(200);
  expect(ran.body).toMatchObject({ exit_code: 0, stdout: `[b]\n${data.toString()}`, timed_out: false });
  for (const api of [a, b]) {
    const got = (await request(api.app).get('/v1/functions/reader').set(...auth()).expect(200)).body;
    expect(got.last_invocations).toEqual([{ at: expect.any(String), status: 'ok', duration_ms: ran.body.duration_ms, cold: ran.body.cold }]);
    expect(got.capacity.in_flight).toBe(0);
  }
}, 30_000);

test('max_concurrency counts the invocations of every replica: 429 with Retry-After on the other one', async () => {
  await request(b.app).post('/v1/functions').set(...auth()).send({ name: 'slow', script: b64('#!/bin/sh\nsleep 1\necho done\n'), max_concurrency: 1 }).expect(201);
  const first = await request(a.app).post('/v1/functions/slow/invoke?async=true').set(...auth()).send({}).expect(202);
  const refused = await request(b.app).post('/v1/functions/slow/invoke').set(...auth()).send({}).expect(429);
  expect(refused.headers['retry-after']).toBe('1');
  expect(refused.body).toEqual({ detail: expect.stringContaining('max_concurrency') });
  expect((await request(b.app).get('/v1/functions/slow').set(...auth()).expect(200)).body.capacity.in_flight).toBe(1);
  await eventually(async () => {
    const op = await request(b.app).get(`/v1/operations/${first.body.id}`).set(...auth()).expect(200);
    return op.body.operation.status === 'succeeded' ? true : undefined;
  }, 20_000, 'the first invocation');
  // Its slot is free again, for both replicas.
  const got = (await request(b.app).get('/v1/functions/slow').set(...auth()).expect(200)).body;
  expect(got.capacity.in_flight).toBe(0);
  expect(got.last_invocations).toEqual([expect.objectContaining({ status: 'ok' })]);
}, 30_000);

test('slots are taken atomically across replicas; a dead replica\'s slots free themselves at their deadline; stdin waits in the store', async () => {
  const [one, two] = await Promise.all([PostgresDatabase.open({ url: database.url }), PostgresDatabase.open({ url: database.url })]);
  try {
    const repositories = [new FunctionInvocationRepository(one), new FunctionInvocationRepository(two)];
    const nowMs = Date.now();
    const admissions = await Promise.all(
      Array.from({ length: 16 }, (_, i) => repositories[i % 2].admit({ id: `race-${i}`, owner: 'carol', name: 'raced', limit: 3, nowMs, deadlineMs: nowMs + 60_000 })),
    );
    expect(admissions.filter((x) => x.admitted)).toHaveLength(3);
    expect(admissions.filter((x) => !x.admitted)).toEqual(Array(13).fill({ admitted: false, inFlight: 3 }));

    // A replica takes the one slot and dies (renews it no more): full until the deadline, free after.
    await repositories[0].admit({ id: 'orphan', owner: 'carol', name: 'orphaned', limit: 1, nowMs, deadlineMs: nowMs + 30_000 });
    expect(await repositories[1].admit({ id: 'early', owner: 'carol', name: 'orphaned', limit: 1, nowMs: nowMs + 29_000, deadlineMs: nowMs + 59_000 })).toEqual({ admitted: false, inFlight: 1 });
    // A live replica's renewal keeps its slot past the first deadline.
    await repositories[0].renew(['orphan'], nowMs + 40_000);
    expect((await repositories[1].admit({ id: 'renewed', owner: 'carol', name: 'orphaned', limit: 1, nowMs: nowMs + 31_000, deadlineMs: nowMs + 61_000 })).admitted).toBe(false);
    expect(await repositories[1].admit({ id: 'late', owner: 'carol', name: 'orphaned', limit: 1, nowMs: nowMs + 41_000, deadlineMs: nowMs + 71_000 })).toEqual({ admitted: true });
    expect((await repositories[1].activityOf('carol', 'orphaned', nowMs + 41_000)).inFlight).toBe(1);

    // A run's standard input is stored with its record: the replica that did not take the request stages it.
    const spec = emptySpec('boatload-0123456789abcdef0123456789abcdef', 'boatload/base:latest');
    const options = renderContainerUnit({ spec, description: 'stdin probe' });
    const unit = newUnitRecord({ name: 'boatload-stdin-probe.service', options, hash: unitHash(options), desiredState: 'launched', engineName: spec.name, containerId: 'stdinprobe' });
    const request = { image_name: '', image_tag: '', scriptname: 'run.sh', scripturl: null, dataurl: null, datapath: null, container_args: [], env: {}, permanent: false };
    const stdin = Buffer.from([0, 1, 2, 255, 10]);
    await new ContainerRepository(one).insertWithinLimit({ record: { id: 'stdinprobe', owner: 'carol', image: 'boatload/base:latest', unitName: unit.name, request }, script: Buffer.from('#!/bin/sh\ncat\n'), limit: 0, unit, stdin });
    const workload = await workloadResolver({ containers: new ContainerRepository(two), instanceId: 'probe' })(unit);
    expect(workload.script).toMatchObject({ path: '/boatload/run.sh', stdinBase64: stdin.toString('base64') });
  } finally {
    await one.close();
    await two.close();
  }
});

test('the leader keeps a function\'s min_warm, whichever replica defined it; when it stops, the new leader brings them back', async () => {
  const tag = 'function:alice/kept';
  // Defined on the replica that does not lead: the leader warms it.
  await request(b.app).post('/v1/functions').set(...auth()).send({ name: 'kept', script: b64('#!/bin/sh\necho kept\n'), network: 'none', min_warm: 1, max_warm: 1 }).expect(201);
  await eventually(async () => ((await members(tag)).length === 1 ? true : undefined), 20_000, 'a warm member from the leader');
  const before = await members(tag);
  // Both replicas show the same capacity (the engine's members, the store's target).
  for (const api of [a, b]) {
    await eventually(async () => {
      const capacity = (await request(api.app).get('/v1/functions/kept').set(...auth()).expect(200)).body.capacity;
      return capacity.warm === 1 ? capacity : undefined;
    }, 10_000, 'the capacity on each replica');
  }

  // The leader stops (it removes its idle members); the other takes the lead and warms the function again.
  const stopped = performance.now();
  await a.close();
  await eventually(async () => (b.leadership.isLeader() ? true : undefined), 10_000, 'the other replica to lead');
  const again = await eventually(async () => {
    const now = await members(tag);
    return now.length === 1 && !before.includes(now[0]) ? now : undefined;
  }, 20_000, 'a new warm member from the new leader');
  expect(again).toHaveLength(1);
  console.log(`leader stopped → the new leader's warm member for the function ${Math.round(performance.now() - stopped)} ms later`);
  await eventually(async () => {
    const capacity = (await request(b.app).get('/v1/functions/kept').set(...auth()).expect(200)).body.capacity;
    return capacity.warm === 1 && capacity.target === 1 ? true : undefined;
  }, 10_000, 'warm: 1 on the new leader');
  expect((await request(b.app).post('/v1/functions/kept/invoke').set(...auth()).send({}).expect(200)).body).toMatchObject({ stdout: 'kept\n', cold: false });
}, 60_000);
