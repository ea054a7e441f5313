/**
 * The API end to end on a PostgreSQL store (BOATLOAD_DATABASE_URL), with the real engine: a script
 * container from create to delete, the per-user limit under concurrent creates, fleet units, and an
 * API restart that finds everything in the database. It needs the real PostgreSQL server the test
 * preparation starts (BOATLOAD_TEST_DATABASE_URL; see test/support/postgres.ts): without it every
 * test here fails, naming how to start one. The same routes on SQLite: containers.test.ts, fleet-routes.test.ts.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../api/store/open-store';
import { PostgresDatabase } from '../../api/store/postgres-database';
import { parseUnitFile } from '../../units/unit-file';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const tag = randomBytes(3).toString('hex');
let database: TestDatabase;
let system: TestSystem;
let alice: string;
let admin: string;

beforeAll(async () => {
  database = await createTestDatabase('boatload_api_e2e');
  system = await startSystem({ BOATLOAD_DATABASE_URL: database.url });
  admin = await system.token('admin');
  alice = await system.token('alice');
});

afterAll(async () => {
  await system?.close();
  await database?.drop();
});

const SCRIPT = '#!/bin/sh\necho "hello $1 $GREETING"\necho "to stderr" >&2\n';
const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];

async function waitForStatus(token: string, id: string, statuses: string[]): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set(...auth(token));
    return statuses.includes(res.body.status) ? (res.body as Record<string, unknown>) : undefined;
  }, 30_000, `container ${id} to be ${statuses.join('/')}`);
}

test('the API runs on PostgreSQL: the store is the database named in BOATLOAD_DATABASE_URL', async () => {
  expect(system.api.store.dialect).toBe('postgres');
  // The users the API created are rows of that database, seen from another connection.
  const other = await PostgresDatabase.open({ url: database.url, maxConnections: 1 });
  try {
    expect(await other.get<{ username: string }>('SELECT username FROM users WHERE username = ?', ['alice'])).toEqual({ username: 'alice' });
  } finally {
    await other.close();
  }
});

test('BOATLOAD_DATABASE_POOL_SIZE bounds the store\'s pool: concurrent queries share that many server sessions', async () => {
  const sessionsFor = async (databasePoolSize: number): Promise<number> => {
    const store = await openStore({ dbPath: '', databaseUrl: database.url, databasePoolSize });
    try {
      // Each query holds its connection for 150 ms: six at once take six sessions unless the pool has fewer.
      const rows = await Promise.all(Array.from({ length: 6 }, () => store.get<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.15)::text AS slept')));
      return new Set(rows.map((row) => row?.pid)).size;
    } finally {
      await store.close();
    }
  };
  expect(await sessionsFor(2)).toBe(2);
  expect(await sessionsFor(10)).toBe(6);
});

test('a script container from create to delete: record, stdout, state, listing, script; DELETE leaves nothing', async () => {
  const created = await system.http().post('/v1/container/').set(...auth(alice)).send({ script: b64(SCRIPT), container_args: 'world', env: { GREETING: 'hi' } }).expect(201);
  const id = created.body.id as string;
  expect(id).toMatch(/^[0-9a-f]{32}$/);
  const state = await waitForStatus(alice, id, ['exited']);
  expect(state).toMatchObject({ status: 'exited', fleet_state: { name: `${id}.service`, loadState: 'loaded', activeState: 'inactive', subState: 'dead' }, docker_state: { Status: 'exited', ExitCode: 0 } });
  const record = await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(200);
  expect(record.body).toMatchObject({ id, owner: 'alice', status: 'exited', exit_code: 0, container_args: ['world'], env: { GREETING: 'hi' } });
  const out = await system.http().get(`/v1/container/${id}/stdout?stream=stdout`).set(...auth(alice)).expect(200);
  expect(out.text).toBe('hello world hi\n');
  expect((await system.http().get(`/v1/container/${id}/script`).set(...auth(alice)).expect(200)).text).toBe(SCRIPT);
  const list = await system.http().get('/v1/container/').set(...auth(alice)).expect(200);
  expect(list.body.find((c: { id: string }) => c.id === id)).toMatchObject({ id, owner: 'alice', status: 'exited', exit_code: 0 });

  await system.http().delete(`/v1/container/${id}/`).set(...auth(alice)).expect(204);
  await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(404);
  expect(await new Docker().listContainers({ all: true, filters: { label: [`boatload.id=${id}`] } })).toEqual([]);
  expect(await system.api.store.get('SELECT id FROM containers WHERE id = ?', [id])).toBeUndefined();
  expect(await system.api.store.get('SELECT name FROM units WHERE name = ?', [`${id}.service`])).toBeUndefined();
});

// Through HTTP the creates rarely overlap closely enough to race; the store suite (store-dialects)
// proves the lock itself with two connections. Here: the quota holds end to end on PostgreSQL.
test('concurrent creates never pass the user\'s container quota', async () => {
  const carol = await system.token('carol');
  await system.http().put('/v1/users/carol/quotas').set(...auth(admin)).send({ containers: 2 }).expect(200);
  const answers = await Promise.all(Array.from({ length: 6 }, () => system.http().post('/v1/container/').set(...auth(carol)).send({ container_args: ['true'] })));
  expect(answers.map((res) => res.status).sort()).toEqual([201, 201, 403, 403, 403, 403]);
  expect(await system.api.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM containers WHERE owner = ?', ['carol'])).toEqual({ n: 2 });
  for (const res of answers.filter((r) => r.status === 201)) await system.http().delete(`/v1/container/${res.body.id as string}/`).set(...auth(carol)).expect(204);
});

test('fleet units: submitted, launched on the engine, listed with their state, deleted', async () => {
  const name = `pg-${tag}-web.service`;
  const container = `pg-${tag}-web`;
  const options = parseUnitFile(`[Service]\nExecStart=/usr/bin/docker run --name ${container} boatload/base:latest sleep 1000\n`);
  const put = (body: unknown) => system.http().put(`/fleet/v1/units/${name}`).set(...auth(admin)).set('Content-Type', 'application/json').send(JSON.stringify(body));
  await put({ options, desiredState: 'launched' }).expect(201);
  const unit = (await system.http().get(`/fleet/v1/units/${name}`).set(...auth(admin)).expect(200)).body;
  expect(unit).toMatchObject({ name, desiredState: 'launched', currentState: 'launched' });
  expect((await new Docker().getContainer(container).inspect()).State.Running).toBe(true);
  const units = (await system.http().get('/fleet/v1/units').set(...auth(admin)).expect(200)).body.units as Array<{ name: string }>;
  expect(units.map((u) => u.name)).toContain(name);
  const states = (await system.http().get('/fleet/v1/state').set(...auth(admin)).expect(200)).body.states as Array<{ name: string; systemdActiveState: string }>;
  expect(states.find((s) => s.name === name)).toMatchObject({ systemdActiveState: 'active' });
  await system.http().delete(`/fleet/v1/units/${name}`).set(...auth(admin)).expect(204);
  await system.http().get(`/fleet/v1/units/${name}`).set(...auth(admin)).expect(404);
  await expect(new Docker().getContainer(container).inspect()).rejects.toThrow();
});

test('after an API restart everything is read back from PostgreSQL: the running container, its unit, the tokens', async () => {
  const created = await system.http().post('/v1/container/').set(...auth(alice)).send({ container_args: ['sleep', '600'], permanent: true }).expect(201);
  const id = created.body.id as string;
  await waitForStatus(alice, id, ['running']);
  await system.restartApi();
  expect(system.api.store.dialect).toBe('postgres');
  // The token issued before the restart still works (the signing secret is in the database).
  const record = await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(200);
  expect(record.body).toMatchObject({ id, owner: 'alice', permanent: true });
  await waitForStatus(alice, id, ['running']);
  await system.http().delete(`/v1/container/${id}/`).set(...auth(alice)).expect(204);
});
