/** Per-concern help, examples and health, generated from the routes the server registers. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Router } from 'express';
import { registerConcern, renderHelp, type Concern } from '../../api/sandbox/route-table';
import { startSandboxSystem, type SandboxSystem } from '../support/sandbox';

const run = promisify(execFile);
let system: SandboxSystem;
let base: string;
let alice: string;

beforeAll(async () => {
  system = await startSandboxSystem();
  base = await system.listen();
  alice = await system.token('alice');
});

afterAll(async () => {
  await system.close();
}, 180000);

const CONCERNS = ['container', 'units', 'volumes', 'snapshots', 'operations'];

describe.each(CONCERNS)('/v1/%s', (concern) => {
  test('help lists its routes with their fields', async () => {
    const res = await system.http().get(`/v1/${concern}/help`).set(...system.auth(alice)).expect(200);
    expect(res.body).toMatchObject({ concern, description: expect.any(String), routes: expect.any(Array) });
    const paths = res.body.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`);
    expect(paths).toEqual(expect.arrayContaining([`GET /v1/${concern}/help`, `GET /v1/${concern}/examples`, `GET /v1/${concern}/health`]));
    expect(res.body.routes.length).toBeGreaterThan(3);
    for (const route of res.body.routes) expect(route.summary).not.toBe('(not described yet)');
  });

  test('examples are curl lines for each route', async () => {
    const res = await system.http().get(`/v1/${concern}/examples`).set(...system.auth(alice)).expect(200);
    expect(res.body.setup[0]).toMatch(/^BOATLOAD=http:\/\//);
    expect(res.body.examples.length).toBeGreaterThan(3);
    for (const example of res.body.examples) expect(example.example).toMatch(/^(curl |node )/);
    const sh = await system.http().get(`/v1/${concern}/examples?format=sh`).set(...system.auth(alice)).expect(200);
    expect(sh.headers['content-type']).toMatch(/^text\/plain/);
  });

  test("health reports the concern's dependencies", async () => {
    const res = await system.http().get(`/v1/${concern}/health`).set(...system.auth(alice)).expect(200);
    expect(res.body).toMatchObject({ concern, status: 'ok', checks: { store: 'ok' } });
  });

  test('needs auth like every /v1 route', async () => {
    await system.http().get(`/v1/${concern}/help`).expect(401);
  });
});

test('container help describes every route the /v1/container/ routers register', async () => {
  const res = await system.http().get('/v1/container/help').set(...system.auth(alice)).expect(200);
  const paths = res.body.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`);
  for (const expected of [
    'GET /v1/container/',
    'POST /v1/container/',
    'DELETE /v1/container/<id>',
    'GET /v1/container/<id>/file/<filepath>',
    'POST /v1/container/<id>/exec',
    'GET /v1/container/<id>/stream',
    'GET /v1/container/<id>/terminal',
    'POST /v1/container/<id>/fork',
    'POST /v1/container/batch',
  ]) {
    expect(paths).toContain(expected);
  }
  const exec = res.body.routes.find((r: { path: string }) => r.path === '/v1/container/<id>/exec');
  expect(exec.body.map((f: { name: string }) => f.name)).toEqual(['cmd', 'env', 'workdir', 'user', 'timeout']);
  expect(res.body.routes.find((r: { method: string; path: string }) => r.method === 'POST' && r.path === '/v1/container/').body.map((f: { name: string }) => f.name)).toEqual(
    expect.arrayContaining(['snapshot', 'volumes']),
  );
  expect(res.body.routes.find((r: { path: string }) => r.path === '/v1/units/help')).toBeUndefined();
});

test('units help describes the fleet API where it is served', async () => {
  const res = await system.http().get('/v1/units/help').set(...system.auth(alice)).expect(200);
  const paths = res.body.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`);
  expect(paths).toEqual(expect.arrayContaining(['GET /v1/units/help', 'GET /fleet/v1/units', 'PUT /fleet/v1/units/<name>', 'GET /fleet/v1/state']));
});

test('help cannot drift: a route registered elsewhere but not described still shows up, flagged', () => {
  const external = Router();
  external.get('/described', (_req, res) => void res.end());
  external.post('/:id/undocumented', (_req, res) => void res.end());
  const concern: Concern = {
    name: 'demo',
    base: '/v1/demo',
    description: 'demo',
    idVariable: 'ID',
    health: async () => ({ concern: 'demo', status: 'ok', checks: {} }),
    external,
    routes: [
      { method: 'get', path: '/described', summary: 'Described.', answer: '200' },
      { method: 'get', path: '/gone', summary: 'Described but no longer registered.', answer: '200' },
    ],
  };
  registerConcern(Router(), concern);
  const routes = (renderHelp(concern) as { routes: Array<{ method: string; path: string; summary: string }> }).routes;
  expect(routes.map((r) => `${r.method} ${r.path} ${r.summary}`)).toEqual(
    expect.arrayContaining(['GET /v1/demo/described Described.', 'POST /v1/demo/<id>/undocumented (not described yet)']),
  );
  expect(routes.some((r) => r.path === '/v1/demo/gone')).toBe(false);
});

test('the curl examples run as printed', async () => {
  const id = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
  const res = await system.http().get('/v1/container/examples').set(...system.auth(alice)).expect(200);
  const example = (route: string): string => res.body.examples.find((e: { route: string }) => e.route === route).example;
  const env = { ...process.env, BOATLOAD: base, TOKEN: alice, ID: id };
  const list = await run('bash', ['-c', example('GET /v1/container/')], { env });
  expect(JSON.parse(list.stdout).some((c: { id: string }) => c.id === id)).toBe(true);
  const exec = await run('bash', ['-c', example('POST /v1/container/<id>/exec')], { env });
  expect(JSON.parse(exec.stdout)).toMatchObject({ exit_code: 0, stdout: expect.stringContaining('hello') });
  const volumes = await system.http().get('/v1/volumes/examples').set(...system.auth(alice)).expect(200);
  const created = await run('bash', ['-c', volumes.body.examples.find((e: { route: string }) => e.route === 'POST /v1/volumes/').example], { env });
  expect(JSON.parse(created.stdout)).toMatchObject({ name: 'work', owner: 'alice' });
});

test('health is a 503 naming the satellite when it is down', async () => {
  await system.stopSatellite();
  try {
    const res = await system.http().get('/v1/volumes/health').set(...system.auth(alice)).expect(503);
    expect(res.body.status).toBe('unavailable');
    expect(Object.entries(res.body.checks).some(([name, value]) => name.startsWith('satellite at') && String(value).startsWith('unavailable'))).toBe(true);
    await system.http().get('/v1/operations/health').set(...system.auth(alice)).expect(200);
  } finally {
    await system.restartSatellite();
  }
});
