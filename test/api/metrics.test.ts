/** GET /metrics: Prometheus metrics that move with the work, for admins only (or a separate listener). */
import { b64, eventually, startSystem, type TestSystem } from '../support/system';
import { sampleValue } from '../support/prometheus';

let system: TestSystem;
let admin: string;

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_LOGIN_MAX_FAILURES_PER_USER: '2' });
  admin = await system.token('admin');
}, 60000);

afterAll(async () => {
  await system.close();
});

async function scrape(): Promise<string> {
  const res = await system.http().get('/metrics').set('Authorization', `JWT ${admin}`).expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.text;
}

test('anonymous callers get 401, non-admins 403', async () => {
  await system.http().get('/metrics').expect(401);
  const bob = await system.token('bob');
  const res = await system.http().get('/metrics').set('Authorization', `JWT ${bob}`).expect(403);
  expect(res.body).toEqual({ detail: expect.any(String) });
});

test('the request counter of a route pattern moves with requests', async () => {
  const requests = (text: string, route: string, status: string): number => sampleValue(text, 'boatload_http_requests_total', { method: 'GET', route, status });
  const before = await scrape();
  for (let i = 0; i < 3; i++) await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).expect(200);
  await system.http().get('/v1/container/nosuchid/state').set('Authorization', `JWT ${admin}`).expect(404);
  const after = await scrape();
  expect(requests(after, '/v1/container', '200') - requests(before, '/v1/container', '200')).toBe(3);
  // The pattern, never the raw URL: the id does not become a label.
  expect(requests(after, '/v1/container/:id/state', '404') - requests(before, '/v1/container/:id/state', '404')).toBe(1);
  expect(after).not.toContain('nosuchid');
  expect(sampleValue(after, 'boatload_http_request_duration_seconds_count', { method: 'GET', route: '/v1/container', status: '200' })).toBeGreaterThanOrEqual(3);
});

test('login failures and throttles are counted', async () => {
  const before = await scrape();
  await system.http().post('/api-token-auth/').send({ username: 'admin', password: 'wrong' }).expect(400);
  const afterOne = await scrape();
  expect(sampleValue(afterOne, 'boatload_login_failures_total') - sampleValue(before, 'boatload_login_failures_total')).toBe(1);
  // BOATLOAD_LOGIN_MAX_FAILURES_PER_USER=2: the third try for the same user is throttled.
  await system.http().post('/api-token-auth/').send({ username: 'guesser', password: 'a' }).expect(400);
  await system.http().post('/api-token-auth/').send({ username: 'guesser', password: 'b' }).expect(400);
  await system.http().post('/api-token-auth/').send({ username: 'guesser', password: 'c' }).expect(429);
  const after = await scrape();
  expect(sampleValue(after, 'boatload_login_failures_total') - sampleValue(afterOne, 'boatload_login_failures_total')).toBe(2);
  expect(sampleValue(after, 'boatload_login_throttled_total') - sampleValue(afterOne, 'boatload_login_throttled_total')).toBe(1);
});

test('a container run moves the container, unit, scheduler, satellite and stream metrics', async () => {
  const before = await scrape();
  const created = await system.http().post('/v1/container/').set('Authorization', `JWT ${admin}`).send({ script: b64('#!/bin/sh\necho hello-metrics\n') }).expect(201);
  const id = created.body.id as string;
  await eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${admin}`);
    return res.body.status === 'exited' ? true : undefined;
  }, 30000, 'the container to exit');
  const logs = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${admin}`).expect(200);
  expect(logs.text).toBe('hello-metrics\n');
  const after = await scrape();
  expect(sampleValue(after, 'boatload_containers', { state: 'exited' })).toBe(sampleValue(before, 'boatload_containers', { state: 'exited' }) + 1);
  expect(sampleValue(after, 'boatload_units', { state: 'launched' })).toBeGreaterThanOrEqual(1);
  expect(sampleValue(after, 'boatload_scheduler_convergence_seconds_count', { target: 'launched', outcome: 'ok' })).toBeGreaterThan(sampleValue(before, 'boatload_scheduler_convergence_seconds_count', { target: 'launched', outcome: 'ok' }));
  expect(sampleValue(after, 'boatload_satellite_up', { satellite: `satellite at ${system.satellite.url}` })).toBe(1);
  expect(sampleValue(after, 'boatload_satellite_call_duration_seconds_count', { operation: 'POST /containers', outcome: 'answered' })).toBeGreaterThanOrEqual(1);
  expect(sampleValue(after, 'boatload_stream_bytes_total', { kind: 'logs' }) - sampleValue(before, 'boatload_stream_bytes_total', { kind: 'logs' })).toBe('hello-metrics\n'.length);
});

test('an unreachable satellite reads 0', async () => {
  await system.stopSatellite();
  try {
    await system.http().get('/v1/container/help').set('Authorization', `JWT ${admin}`).expect(200);
    await system.api.satellite.health().catch(() => undefined);
    const text = await scrape();
    expect(sampleValue(text, 'boatload_satellite_up', { satellite: `satellite at ${system.satellite.url}` })).toBe(0);
    expect(sampleValue(text, 'boatload_satellite_call_duration_seconds_count', { operation: 'GET /health', outcome: 'unreachable' })).toBeGreaterThanOrEqual(1);
  } finally {
    await system.restartSatellite();
  }
});

test('the metrics route is in the route tables: /metrics/help and the API description describe it', async () => {
  const res = await system.http().get('/metrics/help').set('Authorization', `JWT ${admin}`).expect(200);
  expect(res.body.routes).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'GET', path: '/metrics/' })]));
  const description = await system.http().get('/v1/openapi.json').expect(200);
  const paths = Object.keys(description.body.paths as Record<string, unknown>);
  expect(paths.some((path) => /^\/metrics\/?$/.test(path))).toBe(true);
});

describe('BOATLOAD_METRICS_PORT', () => {
  let separate: TestSystem;

  beforeAll(async () => {
    separate = await startSystem({ BOATLOAD_METRICS_PORT: '0' });
  }, 60000);

  afterAll(async () => {
    await separate.close();
  });

  test('a separate listener serves /metrics without authentication, and nothing else', async () => {
    const address = separate.api.metricsAddress();
    expect(address).not.toBeNull();
    const base = `http://127.0.0.1:${address?.port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('boatload_http_requests_total');
    expect((await fetch(`${base}/v1/container/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
    // The main port still wants an admin.
    await separate.http().get('/metrics').expect(401);
  });

  test('is off by default', () => {
    expect(system.api.metricsAddress()).toBeNull();
  });
});
