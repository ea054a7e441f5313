/**
 * Structured logs: JSON lines with a request id that travels API → satellite, one access line per
 * request, the id echoed in the X-Request-Id header and in {detail} error bodies, and no secret in
 * any line.
 */
import { createLogger, prettyLine } from '../../common/logger';
import { endRequestContexts } from '../../common/request-context';
import { enabledAsyncStorages } from '../support/async-storages';
import { b64, eventually, PASSWORD, SATELLITE_SECRET, startSystem, type TestSystem } from '../support/system';

interface Line {
  level: string;
  component: string;
  msg: string;
  request_id?: string;
  [key: string]: unknown;
}

const apiLines: string[] = [];
const satelliteLines: string[] = [];
let system: TestSystem;
let admin: string;

const parsed = (lines: string[]): Line[] => lines.map((line) => JSON.parse(line) as Line);

beforeAll(async () => {
  system = await startSystem({}, {
    logger: createLogger('api', { level: 'debug', format: 'json', sink: { write: (line) => apiLines.push(line) } }),
    satelliteLogger: createLogger('satellite', { level: 'debug', format: 'json', sink: { write: (line) => satelliteLines.push(line) } }),
  });
  admin = await system.token('admin');
}, 60000);

afterAll(async () => {
  await system.close();
});

test('every line is one JSON object with level, time, component and message', () => {
  expect(apiLines.length).toBeGreaterThan(0);
  for (const line of [...apiLines, ...satelliteLines]) {
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String), component: expect.any(String), msg: expect.any(String) }));
  }
});

test("a client's request id is echoed, and appears in the API's and the satellite's lines", async () => {
  const requestId = 'req-logging-test.0123_abc';
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${admin}`).set('X-Request-Id', requestId).send({ script: b64('#!/bin/sh\necho logged\n') }).expect(201);
  expect(res.headers['x-request-id']).toBe(requestId);
  await eventually(async () => (parsed(satelliteLines).some((l) => l.request_id === requestId) ? true : undefined), 10000, 'a satellite line with the id');
  const api = parsed(apiLines).filter((l) => l.request_id === requestId);
  const access = api.find((l) => l.component === 'api:http' && l.route === '/v1/container');
  expect(access).toEqual(expect.objectContaining({ method: 'POST', route: '/v1/container', status: 201, user: 'admin', duration_ms: expect.any(Number), request_id: requestId }));
  // The satellite's own access line for the create the API made on the request's behalf.
  const satellite = parsed(satelliteLines).filter((l) => l.request_id === requestId);
  expect(satellite).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'POST', route: '/containers', status: 201 })]));
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${res.body.id}/state`).set('Authorization', `JWT ${admin}`);
    return state.body.status === 'exited' ? true : undefined;
  }, 30000, 'the container to exit');
});

test('ended request contexts (a test file done, in jest\'s one process) leave no async context enabled; the next request carries its id again', async () => {
  await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).set('X-Request-Id', 'req-before-end').expect(200);
  const enabled = await enabledAsyncStorages();
  endRequestContexts();
  expect(await enabledAsyncStorages()).toBe(enabled - 1);
  await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).set('X-Request-Id', 'req-after-end').expect(200);
  expect(parsed(apiLines).filter((l) => l.component === 'api:http' && l.request_id === 'req-after-end')).toHaveLength(1);
});

test('without a sane client id the API makes one; the header always carries it', async () => {
  const plain = await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).expect(200);
  expect(plain.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  for (const insane of ['has space', 'x'.repeat(129), 'semi;colon']) {
    const res = await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).set('X-Request-Id', insane).expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  }
  expect(parsed(apiLines).some((l) => l.request_id === plain.headers['x-request-id'] && l.route === '/v1/container')).toBe(true);
});

test('{detail} error bodies repeat a client id; field-error bodies and id-less requests keep their shape', async () => {
  const notFound = await system.http().get('/v1/container/0123456789abcdef0123456789abcdef/state').set('Authorization', `JWT ${admin}`).set('X-Request-Id', 'err-1').expect(404);
  expect(notFound.body).toEqual({ detail: expect.any(String), request_id: 'err-1' });
  expect(notFound.headers['x-request-id']).toBe('err-1');
  const plain = await system.http().get('/v1/container/0123456789abcdef0123456789abcdef/state').set('Authorization', `JWT ${admin}`).expect(404);
  expect(plain.body).toEqual({ detail: expect.any(String) });
  const fields = await system.http().post('/v1/container/').set('Authorization', `JWT ${admin}`).set('X-Request-Id', 'err-2').send({ script: 'not*base64!' }).expect(400);
  expect(fields.body).toEqual({ script: [expect.any(String)] });
  expect(fields.headers['x-request-id']).toBe('err-2');
});

test('logins, tokens, cookies, passwords and the satellite secret never reach a log line', async () => {
  const password = 'Unique-Pa55word-for-logs';
  const wrong = 'Wr0ng-Guess-for-logs';
  await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'carol', password, is_admin: false }).expect(201);
  await system.http().post('/api-token-auth/').send({ username: 'carol', password: wrong }).expect(400);
  const login = await system.http().post('/api-token-auth/').send({ username: 'carol', password }).expect(200);
  const token = login.body.token as string;
  const refreshed = await system.http().post('/api-token-refresh/').send({ token }).expect(200);
  const session = await system.http().post('/v1/auth/login').send({ username: 'carol', password }).expect(200);
  const cookies = ([] as string[]).concat(session.headers['set-cookie'] ?? []);
  expect(cookies.length).toBeGreaterThan(0);
  const cookieValues = cookies.map((c) => decodeURIComponent(c.split(';')[0].split('=').slice(1).join('=')));
  await system.http().get('/v1/auth/me').set('Cookie', cookies.map((c) => c.split(';')[0]).join('; ')).expect(200);
  const created = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ script: b64('#!/bin/sh\necho secret-test\n') }).expect(201);
  // A token in the query (EventSource's way) and a bad token in the header.
  await system.http().get(`/v1/container/${created.body.id}/stream?token=${token}`).timeout(3000).catch(() => undefined);
  await system.http().get('/v1/container/').set('Authorization', 'JWT not.a.valid-token-for-logs').expect(401);
  await system.http().post('/v1/auth/password').set('Authorization', `JWT ${token}`).send({ old_password: password, new_password: `${password}-2` });
  await system.http().post('/api-token-auth/').send({ username: 'admin', password: PASSWORD }).expect(400);

  const everything = [...apiLines, ...satelliteLines].join('');
  const secrets = [password, `${password}-2`, wrong, token, refreshed.body.token as string, SATELLITE_SECRET, 'not.a.valid-token-for-logs', PASSWORD, ...cookieValues.filter((v) => v.length >= 16)];
  for (const secret of secrets) expect({ secret, found: everything.includes(secret) }).toEqual({ secret, found: false });
  // The run did log (so the grep had something to search), including these requests.
  expect(parsed(apiLines).filter((l) => l.user === 'carol').length).toBeGreaterThan(2);
});

test('the readable format: one line per entry, fields as key=value', () => {
  const line = prettyLine(JSON.stringify({ level: 'info', time: '2026-01-01T00:00:00.000Z', pid: 1, hostname: 'h', component: 'api:http', request_id: 'abc', status: 200, msg: 'GET /v1/container 200 1.2ms' }));
  // status is in the message already: not repeated.
  expect(line).toBe('2026-01-01T00:00:00.000Z INFO  [api:http] GET /v1/container 200 1.2ms request_id=abc\n');
  expect(prettyLine(JSON.stringify({ level: 'warn', time: 't', component: 'c', msg: 'm', note: 'two words' }))).toBe('t WARN  [c] m note="two words"\n');
});
