/** Per-resource help, examples and health, generated from the route tables that register the routes. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import express from 'express';
import request from 'supertest';
import { describedRoutes, registerRoutes, type RouteGroup } from '../../api/http/route-table';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

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

test('help cannot drift: the table that registers the routes is the one described', async () => {
  const group: RouteGroup = {
    name: 'demo',
    base: '/v1/demo',
    description: 'demo',
    idVariable: 'ID',
    routes: [
      { method: 'get', path: '/described', summary: 'Described.', answer: '200', handlers: [(_req, res) => void res.json({ ok: true })] },
      { method: 'post', path: '/:id/act', summary: 'Act.', answer: '204', handlers: [(_req, res) => void res.status(204).end()] },
    ],
  };
  const app = express();
  const router = express.Router();
  registerRoutes(router, describedRoutes(group, async () => ({ concern: 'demo', status: 'ok', checks: {} })));
  app.use('/v1/demo', router);
  const help = await request(app).get('/v1/demo/help').expect(200);
  expect(help.body.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`)).toEqual([
    'GET /v1/demo/help',
    'GET /v1/demo/examples',
    'GET /v1/demo/health',
    'GET /v1/demo/described',
    'POST /v1/demo/<id>/act',
  ]);
  // Every described route is served, and nothing else is.
  await request(app).get('/v1/demo/described').expect(200);
  await request(app).post('/v1/demo/abc/act').expect(204);
  await request(app).get('/v1/demo/examples').expect(200);
  await request(app).get('/v1/demo/undescribed').expect(404);
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
