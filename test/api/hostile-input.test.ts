/**
 * An attacker's corpus of malformed requests across the routes: every answer is a 4xx in the
 * documented error shape (never a 5xx, never a hang), the API stays healthy, and nothing is left
 * behind in the engine or the store. Bodies are parsed only once the caller is authenticated.
 */
import Docker from 'dockerode';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { CREDENTIAL_BODY_MAX_BYTES } from '../../api/app';
import { slowUpload } from '../support/slow-upload';
import { b64, PASSWORD, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let token: string;
let other: string;
let id: string;

beforeAll(async () => {
  system = await startSystem();
  token = await system.token('attacker');
  other = await system.token('victim');
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${other}`).send({ script: b64('#!/bin/sh\necho secret > /secret.txt\n') }).expect(201);
  id = res.body.id;
});

afterAll(async () => {
  await system.close();
});

/**
 * Stands for the victim's container id in a case's path: the cases are built when the file loads,
 * before beforeAll has made the container, so the id is put in when the case runs.
 */
const VICTIM = '<victim>';

interface Case {
  name: string;
  method: 'get' | 'post' | 'delete';
  path: string;
  body?: unknown;
  raw?: { type: string; data: string | Buffer };
  auth?: 'attacker' | 'none';
  /** The exact status, where one is required. */
  status?: number;
}

const NASTY_STRINGS = ['line\nbreak', 'carriage\rreturn', 'nul\u0000byte', 'tab\tand\u001bescape', '[Service]\nExecStart=/bin/evil', 'a=b\nc=d', '%n%i%%', '\\\\backslashes\\', 'emoji 🚢', '\u202etxt.exe', '\ud800lone', 'x'.repeat(70000)];
// container_args is left out of the nasty strings: any text is a valid argument (it is argv, never a shell line).
const STRING_FIELDS = ['image_name', 'image_tag', 'script', 'scriptname', 'scripturl', 'dataurl', 'datapath'];
const WRONG_TYPES: unknown[] = [42, true, null, { nested: 1 }, [1, 2]];

function createCases(): Case[] {
  const cases: Case[] = [];
  const post = (name: string, body: unknown): void => void cases.push({ name, method: 'post', path: '/v1/container/', body });
  for (const field of STRING_FIELDS) {
    for (const value of NASTY_STRINGS) post(`${field} = ${JSON.stringify(value).slice(0, 30)}`, { [field]: value });
    for (const value of WRONG_TYPES) post(`${field} as ${JSON.stringify(value)}`, { [field]: value });
  }
  for (const value of [42, null, { nested: 1 }, [1, 2], 'yes', 'true']) post(`permanent as ${JSON.stringify(value)}`, { permanent: value });
  for (const value of [42, true, null, { nested: 1 }, [1, { a: 1 }]]) post(`container_args as ${JSON.stringify(value)}`, { container_args: value });
  for (const env of [{ 'BAD KEY': 'x' }, { '': 'x' }, { A: 1 }, { A: null }, { A: 'nul\u0000' }, 'A=B', ['A=B'], { '1A': 'x' }]) post(`env ${JSON.stringify(env)}`, { env });
  for (const script of ['@@@', 'YWJj!', '====', 'a', 'ab=c', b64('no shebang'), b64(''), '#!/bin/sh']) post(`script ${script.slice(0, 20)}`, { script });
  for (const image of ['UPPER', 'a//b', '-leading', 'a:b:c', 'x'.repeat(300), 'no/such/image', 'boatload/base@sha256:zz', '../etc', 'host:99999999/x']) post(`image_name ${image.slice(0, 20)}`, { image_name: image });
  // Images BoatLoad made (snapshots), named other than through `snapshot`: a 404 whether or not they exist.
  for (const [image_name, image_tag] of [['boatload/snapshot', 'latest'], ['boatload/snapshot', '0'.repeat(32)], ['docker.io/boatload/snapshot', '0'.repeat(32)], ['index.docker.io/boatload/snapshot', 'x'], ['sha256', 'a'.repeat(64)], ['sha256', 'dbaa24ed4e3c']]) {
    cases.push({ name: `image ${image_name}:${image_tag.slice(0, 12)}`, method: 'post', path: '/v1/container/', body: { image_name, image_tag }, status: 404 });
  }
  for (const datapath of ['/', '/proc', '/proc/self', '/sys/x', '/dev/null', '/boatload', '/a/../../etc', 'relative', '/x\n/y']) post(`datapath ${datapath}`, { dataurl: 'http://example.invalid/d.tar', datapath });
  for (const url of ['ftp://x/y', 'file:///etc/passwd', 'gopher://x', 'http://', 'javascript:alert(1)', 'http://[::1]/x', 'http://169.254.169.254/', 'http://0.0.0.0/', 'http://127.1/']) post(`scripturl ${url}`, { scripturl: url });
  for (const args of ['a; b', 'a | b', 'a && b', '$(id)', 'a > /etc/x', 'a < b', 'a & b', 'a || b', 'a\u0000b']) post(`container_args ${args}`, { container_args: args });
  // A container create cannot reach its host: volumes are the owner's named volumes, and nothing
  // else about the engine's host config can be asked for (the unit policy's counterpart).
  for (const name of ['/', '/var/run/docker.sock', '/etc', '//', '.', '..', '/proc/1/root', 'C:/', 'x:/host', 'no-such-volume']) {
    post(`volumes naming host path ${name}`, { volumes: [{ name, path: '/host' }] });
  }
  for (const [field, value] of [['network', 'host'], ['net', 'host'], ['privileged', true], ['cap_add', ['SYS_ADMIN']], ['devices', ['/dev/sda']], ['binds', ['/:/host']], ['pid', 'host'], ['ipc', 'host'], ['uts', 'host'], ['security_opt', ['seccomp=unconfined']], ['host_config', { Binds: ['/:/host'], Privileged: true }]] as const) {
    post(`${field} ${JSON.stringify(value)}`, { [field]: value });
  }
  // Names and network modes: a hostname is a DNS label; a mode is none, private or internet.
  for (const hostname of ['UPPER', 'under_score', '-lead', 'trail-', 'a.b', 'x'.repeat(64), '', 'caf\u00e9', 'a b', 'a\nb', 42, null]) cases.push({ name: `hostname ${JSON.stringify(hostname).slice(0, 20)}`, method: 'post', path: '/v1/container/', body: { hostname }, status: 400 });
  for (const network of ['bridge', 'default', 'container:x', 'INTERNET', 'boatload-net-0000000000000000', '', 1, ['private']]) cases.push({ name: `network ${JSON.stringify(network)}`, method: 'post', path: '/v1/container/', body: { network }, status: 400 });
  post('unknown field', { evil: 1 });
  post('prototype pollution', JSON.parse('{"__proto__": {"isAdmin": true}}'));
  post('array body', [1, 2, 3]);
  post('string body', 'just a string');
  cases.push({ name: 'number body', method: 'post', path: '/v1/container/', raw: { type: 'application/json', data: '42' } });
  cases.push({ name: 'truncated JSON', method: 'post', path: '/v1/container/', raw: { type: 'application/json', data: '{"script": "abc' } });
  cases.push({ name: 'not JSON at all', method: 'post', path: '/v1/container/', raw: { type: 'application/json', data: 'hello' } });
  cases.push({ name: 'deeply nested JSON', method: 'post', path: '/v1/container/', raw: { type: 'application/json', data: '['.repeat(5000) + ']'.repeat(5000) } });
  cases.push({ name: 'huge JSON body', method: 'post', path: '/v1/container/', raw: { type: 'application/json', data: JSON.stringify({ script: 'A'.repeat(4 * 1024 * 1024) }) } });
  cases.push({ name: 'XML body', method: 'post', path: '/v1/container/', raw: { type: 'application/xml', data: '<a/>' } });
  cases.push({ name: 'broken multipart', method: 'post', path: '/v1/container/', raw: { type: 'multipart/form-data; boundary=xyz', data: '--xyz\r\nContent-Disposition: form-data; name="script"\r\n\r\nabc' } });
  cases.push({ name: 'multipart without boundary', method: 'post', path: '/v1/container/', raw: { type: 'multipart/form-data', data: 'x' } });
  cases.push({ name: 'form with bad env JSON', method: 'post', path: '/v1/container/', raw: { type: 'application/x-www-form-urlencoded', data: 'env=%7Bbad' } });
  cases.push({ name: 'JSON with a charset nobody has', method: 'post', path: '/v1/container/', raw: { type: 'application/json; charset=klingon', data: '{}' } });
  return cases;
}

function readCases(): Case[] {
  const cases: Case[] = [];
  const get = (name: string, path: string): void => void cases.push({ name, method: 'get', path });
  for (const p of ['%2e%2e/%2e%2e/etc/passwd', '..%2F..%2Fetc%2Fpasswd', '..%252F..%252Fetc', 'a/../../b', '%00', 'x%00y', '..', '.%2e/.%2e/etc', '%2F%2F..%2F..']) get(`file/${p}`, `/v1/container/${VICTIM}/file/${p}`);
  for (const n of ['-1', '1e9999', 'NaN', '0x10', '99999999999999999999', '1.5', '%00', 'abc', ' 1', '']) get(`filebynum/${n}`, `/v1/container/${VICTIM}/filebynum/${encodeURIComponent(n)}`);
  for (const tail of ['-1', 'all', '1e10', '99999999999', 'NaN', '%00', '1.5']) get(`stdout?tail=${tail}`, `/v1/container/${VICTIM}/stdout?tail=${encodeURIComponent(tail)}`);
  for (const stream of ['both', 'STDOUT', '', 'stdin']) get(`stdout?stream=${stream}`, `/v1/container/${VICTIM}/stdout?stream=${stream}`);
  for (const follow of ['maybe', '2', 'yes']) get(`stdout?follow=${follow}`, `/v1/container/${VICTIM}/stdout?follow=${follow}`);
  for (const gzip of ['maybe', '2', 'TRUE!']) get(`archive?gzip=${gzip}`, `/v1/container/${VICTIM}/archive?gzip=${gzip}`);
  // The victim's container, read by the attacker: 404 everywhere (not 403).
  for (const route of ['', 'stdout', 'script', 'state', 'metrics', 'changes', 'file', 'file/secret.txt', 'filebynum/0', 'archive']) {
    cases.push({ name: `someone else's ${route || 'record'}`, method: 'get', path: `/v1/container/${VICTIM}/${route}`, status: 404 });
  }
  cases.push({ name: "delete someone else's", method: 'delete', path: `/v1/container/${VICTIM}/`, status: 404 });
  for (const bad of ['zzz', '0'.repeat(32), 'A'.repeat(32), '%00', '..', '0'.repeat(500), "'; DROP TABLE containers;--"]) {
    for (const route of ['', 'state', 'file']) get(`bad id ${bad.slice(0, 12)}/${route}`, `/v1/container/${encodeURIComponent(bad)}/${route}`);
  }
  return cases;
}

function authCases(): Case[] {
  const cases: Case[] = [];
  for (const path of ['/api-token-auth/', '/v1/auth/login']) {
    for (const body of [{}, { username: 1, password: 2 }, { username: 'a' }, { username: ['a'], password: ['b'] }, { username: 'x'.repeat(10000), password: 'y' }, { username: 'admin\u0000', password: 'admin' }]) {
      cases.push({ name: `${path} ${JSON.stringify(body).slice(0, 30)}`, method: 'post', path, body, auth: 'none' });
    }
  }
  for (const path of ['/api-token-refresh/', '/api-token-verify/']) {
    for (const body of [{}, { token: 1 }, { token: 'a.b.c' }, { token: 'x'.repeat(10000) }]) cases.push({ name: `${path} ${JSON.stringify(body).slice(0, 20)}`, method: 'post', path, body, auth: 'none' });
  }
  for (const body of [{}, { username: 'n\new', password: 'long-enough-pw' }, { username: 'ok-name', password: 1 }, { username: 'ok-name2', password: 'short' }]) {
    cases.push({ name: `non-admin creates user ${JSON.stringify(body).slice(0, 20)}`, method: 'post', path: '/v1/users/', body });
  }
  for (const body of [{}, { old_password: 1, new_password: 2 }, { old_password: 'wrong', new_password: 'long-enough-pw' }]) cases.push({ name: `password ${JSON.stringify(body)}`, method: 'post', path: '/v1/auth/password', body });
  cases.push({ name: 'no auth at all', method: 'get', path: '/v1/container/', auth: 'none' });
  return cases;
}

const ALL = [...createCases(), ...readCases(), ...authCases()];

function isErrorShape(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.length) return false;
  if ('detail' in body) return typeof body.detail === 'string';
  return entries.every(([, v]) => Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string'));
}

test(`the corpus has at least 200 cases (${ALL.length})`, () => {
  expect(ALL.length).toBeGreaterThanOrEqual(200);
});

test.each(ALL.map((c) => [c.name, c] as const))('%s → 4xx in the error shape', async (_name, c) => {
  let req = system.http()[c.method](c.path.split(VICTIM).join(id)).timeout(15000);
  if (c.auth !== 'none') req = req.set('Authorization', `JWT ${token}`);
  const res = c.raw ? await req.set('Content-Type', c.raw.type).send(c.raw.data) : c.body === undefined ? await req : await req.send(c.body as object);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(isErrorShape(res.body)).toBe(true);
  if (c.status !== undefined) expect(res.status).toBe(c.status);
});

test('huge headers are refused by the HTTP layer, not answered by a crash', async () => {
  const res = await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).set('X-Padding', 'p'.repeat(64 * 1024)).ok(() => true);
  expect(res.status).toBe(431);
});

test('afterwards the API is healthy and nothing was left behind', async () => {
  await system.http().get('/health').expect(200);
  const mine = await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);
  expect(mine.body).toEqual([]);
  const engine = await new Docker().listContainers({ all: true, filters: { label: [`boatload.owner=attacker`, `boatload.instance=${system.api.instanceId}`] } });
  expect(engine).toEqual([]);
  await system.http().get(`/v1/container/${id}/file/secret.txt`).set('Authorization', `JWT ${other}`).expect(200);
});

// ---- Who is asking is settled before any body is parsed.

const MiB = 1024 * 1024;

describe('bodies are parsed only after authentication', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // The API's own app on a port of its own: the raw client below needs a socket, supertest does not give one.
    server = await new Promise<Server>((resolve, reject) => {
      const s = system.api.app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  // Each body would be a 400 (not JSON) or a 413 (over BoatLoad's JSON limit) if it were parsed.
  const bodies: Array<[string, string]> = [
    ['invalid JSON', '{"script": "abc'],
    ['JSON over the body limit', JSON.stringify({ script: 'A'.repeat(4 * MiB) })],
  ];
  const paths = ['/v1/container/', '/v1/volumes/', '/v1/snapshots/', '/v1/operations/', '/v1/users/', '/v1/no-such-resource'];
  test.each(paths.flatMap((path) => bodies.map(([what, body]) => [path, what, body] as const)))('POST %s with no token and %s: 401', async (path, _what, body) => {
    const res = await system.http().post(path).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  test('a bad token with a body that would be a 400: 401', async () => {
    const res = await system.http().post('/v1/container/').set('Authorization', 'JWT not.a.token').set('Content-Type', 'application/json').send('{"script": "abc');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Invalid or expired token.' });
  });

  test('no token and a declared 1 GiB JSON body: 401 at once, before a byte of the body is sent; the connection closes', async () => {
    const res = await slowUpload({ url, server, method: 'POST', path: '/v1/container/', headers: { 'content-type': 'application/json' }, sendBytes: 0, declaredLength: 1024 * MiB, timeoutMs: 5000 });
    expect(res.status).toBe(401);
    expect(res.answeredAfterMs).toBeLessThan(1000);
    expect(res.serverBytesRead).toBeLessThan(4096);
    expect(res.serverClosed).toBe(true);
  });

  test('no token and 50 MiB of JSON streamed slowly: 401 before the client has sent most of it; the API reads almost none of it', async () => {
    // 256 KiB every 20 ms: about 4 s to send it all.
    const res = await slowUpload({ url, server, method: 'POST', path: '/v1/container/', headers: { 'content-type': 'application/json' }, sendBytes: 50 * MiB, fill: '[', timeoutMs: 20000 });
    expect(res.status).toBe(401);
    expect(res.finishedSending).toBe(false);
    expect(res.answeredAfterMs).toBeLessThan(1500);
    expect(res.serverBytesRead).toBeLessThan(2 * MiB);
    expect(res.serverClosed).toBe(true);
  });

  test('the fleet API likewise: no token and a declared 1 GiB unit body is a 401 at once; the connection closes', async () => {
    const res = await slowUpload({ url, server, method: 'PUT', path: '/fleet/v1/units/big.service', headers: { 'content-type': 'application/json' }, sendBytes: 0, declaredLength: 1024 * MiB, timeoutMs: 5000 });
    expect(res.status).toBe(401);
    expect(res.answeredAfterMs).toBeLessThan(1000);
    expect(res.serverBytesRead).toBeLessThan(4096);
    expect(res.serverClosed).toBe(true);
  });

  test('with a token the same bodies are still parsed: 400 and 413 (a declared oversize at once)', async () => {
    for (const [body, status] of [['{"script": "abc', 400], [JSON.stringify({ script: 'A'.repeat(4 * MiB) }), 413]] as const) {
      const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(status);
    }
    const declared = await slowUpload({ url, server, method: 'POST', path: '/v1/container/', headers: { 'content-type': 'application/json', authorization: `JWT ${token}` }, sendBytes: 0, declaredLength: 1024 * MiB, timeoutMs: 5000 });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ detail: 'Request body is too large.' });
  });

  test('a session write without its CSRF token is a 403 before its body is parsed', async () => {
    const agent = request.agent(system.api.app);
    const login = await agent.post('/v1/auth/login').send({ username: 'attacker', password: PASSWORD }).expect(200);
    const refused = await agent.post('/v1/container/').set('Content-Type', 'application/json').send('{"script": "abc');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/CSRF/);
    const parsed = await agent.post('/v1/container/').set('X-CSRFToken', login.body.csrf_token).set('Content-Type', 'application/json').send('{"script": "abc');
    expect(parsed.status).toBe(400);
  });

  test('the login and token routes still read their bodies first, JSON or form, within a small limit', async () => {
    await system.http().post('/api-token-auth/').type('form').send({ username: 'attacker', password: PASSWORD }).expect(200);
    await system.http().post('/v1/auth/login').send({ username: 'attacker', password: PASSWORD }).expect(200);
    const big = await system.http().post('/api-token-auth/').send({ username: 'attacker', password: 'x'.repeat(CREDENTIAL_BODY_MAX_BYTES) });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ detail: 'Request body is too large.' });
  });
});
