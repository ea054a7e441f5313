/**
 * The satellite refuses every request that is not signed by the API with the cluster secret, and
 * it checks the signature before it reads the body.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import fetch from 'node-fetch';
import { emptySpec } from '../../common/container-spec';
import { signRequest } from '../../common/signing';
import { slowUpload } from '../support/slow-upload';
import { SATELLITE_SECRET, startSatellite, type SatelliteHandle } from '../support/system';

let satellite: SatelliteHandle;

beforeAll(async () => {
  satellite = await startSatellite();
});

afterAll(async () => {
  await satellite.close();
});

async function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(satellite.url + path, { method: options.method ?? 'GET', headers: options.headers, body: options.body });
  return { status: res.status, body: await res.json() };
}

function signed(method: string, path: string, body = '', secret = SATELLITE_SECRET, nowMs = Date.now()): Record<string, string> {
  return signRequest(secret, { method, path, body: Buffer.from(body) }, nowMs);
}

test('a correctly signed request is served', async () => {
  const res = await send('/machine', { headers: signed('GET', '/machine') });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), metadata: { role: 'test' } });
});

test.each([
  ['unsigned', () => ({}), /not signed/],
  ['signed with the wrong secret', () => signed('GET', '/machine', '', 'another-secret-another-secret-42'), /bad signature/],
  ['stale (two minutes old)', () => signed('GET', '/machine', '', SATELLITE_SECRET, Date.now() - 120_000), /stale/],
  ['from the future', () => signed('GET', '/machine', '', SATELLITE_SECRET, Date.now() + 120_000), /stale/],
  ['signed for another path', () => signed('GET', '/containers'), /bad signature/],
  ['signed for another method', () => signed('POST', '/machine'), /bad signature/],
])('%s: 401', async (_name, headers, reason) => {
  const res = await send('/machine', { headers: headers() });
  expect(res.status).toBe(401);
  expect((res.body as { detail: string }).detail).toMatch(reason);
});

test('a replayed request is refused the second time', async () => {
  const headers = signed('GET', '/machine');
  expect((await send('/machine', { headers })).status).toBe(200);
  const replay = await send('/machine', { headers });
  expect(replay.status).toBe(401);
  expect((replay.body as { detail: string }).detail).toMatch(/replayed/);
});

test('a body that does not match its signed digest is refused', async () => {
  const body = JSON.stringify({ spec: { name: 'x', image: 'boatload/base:latest' } });
  const headers = { ...signed('POST', '/containers', body), 'content-type': 'application/json' };
  const tampered = await send('/containers', { method: 'POST', headers, body: body.replace('"x"', '"y"') });
  expect(tampered.status).toBe(401);
  expect((tampered.body as { detail: string }).detail).toMatch(/digest/);
});

// ---- The signature is checked over the headers before the body is read.

const MiB = 1024 * 1024;

function signedHead(method: string, path: string, declaredBody: Buffer): Record<string, string> {
  return signRequest(SATELLITE_SECRET, { method, path, body: declaredBody });
}

test.each([
  ['8 MiB (under the body limit)', 8 * MiB],
  ['1 GiB', 1024 * MiB],
])('an unsigned request declaring a body of %s is a 401 at once, before a byte of the body is sent', async (_name, declaredLength) => {
  const res = await slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path: '/containers', headers: { 'content-type': 'application/json' }, sendBytes: 0, declaredLength, timeoutMs: 5000 });
  expect(res.status).toBe(401);
  expect(JSON.parse(res.body).detail).toMatch(/not signed/);
  expect(res.answeredAfterMs).toBeLessThan(1000);
  // Only the request's headers were read, and the connection is closed rather than left waiting for the body.
  expect(res.serverBytesRead).toBeLessThan(4096);
  expect(res.serverClosed).toBe(true);
});

test('an unsigned 50 MiB body streamed slowly is refused before the client has sent most of it; the satellite reads almost none of it', async () => {
  // 256 KiB every 20 ms: about 4 s to send it all.
  const res = await slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path: '/containers', headers: { 'content-type': 'application/json' }, sendBytes: 50 * MiB, timeoutMs: 20000 });
  expect(res.status).toBe(401);
  expect(res.finishedSending).toBe(false);
  expect(res.answeredAfterMs).toBeLessThan(1500);
  expect(res.sentWhenAnswered).toBeLessThan(20 * MiB);
  expect(res.serverBytesRead).toBeLessThan(2 * MiB);
  expect(res.serverClosed).toBe(true);
});

test('a request with a wrong signature and a small body is refused and its connection stays usable', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const body = Buffer.alloc(8 * 1024, 'x');
    const refused = await fetch(satellite.url + '/machine', { method: 'POST', headers: { ...signed('POST', '/machine', 'other', 'another-secret-another-secret-42'), 'content-type': 'application/octet-stream' }, body, agent });
    expect(refused.status).toBe(401);
    await refused.text();
    const served = await new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
      const req = httpRequest(satellite.url + '/machine', { headers: signed('GET', '/machine'), agent }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket });
      });
      req.on('error', reject);
      req.end();
    });
    expect(served).toEqual({ status: 200, reused: true });
  } finally {
    agent.destroy();
  }
});

test('a signed head with a body over the limit is a 413: at once when declared, at the limit when streamed', async () => {
  const path = '/containers';
  const declared = await slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path, headers: signedHead('POST', path, Buffer.from('x')), sendBytes: 0, declaredLength: 50 * MiB, timeoutMs: 5000 });
  expect(declared.status).toBe(413);
  expect(declared.serverBytesRead).toBeLessThan(4096);
  const streamed = await slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path, headers: signedHead('POST', path, Buffer.from('x')), sendBytes: 50 * MiB, chunkBytes: MiB, intervalMs: 5, timeoutMs: 20000 });
  expect(streamed.status).toBe(413);
  expect(streamed.finishedSending).toBe(false);
  // The satellite's limit in these tests is 16 MiB (test/support/system.ts).
  expect(streamed.serverBytesRead).toBeLessThan(20 * MiB);
  expect(streamed.serverClosed).toBe(true);
});

test('a signed request whose streamed body does not match its digest is refused, nothing is done, and its nonce stays unused', async () => {
  const docker = new Docker();
  const suffix = randomBytes(6).toString('hex');
  const genuine = Buffer.from(JSON.stringify({ spec: emptySpec(`boatload-sigcheck-a-${suffix}`, 'boatload/base:latest') }));
  const forged = Buffer.from(JSON.stringify({ spec: emptySpec(`boatload-sigcheck-b-${suffix}`, 'boatload/base:latest') }));
  const headers = { ...signedHead('POST', '/containers', genuine), 'content-type': 'application/json' };
  try {
    // The forged body, sent slowly in small pieces: nothing may act on it before its digest is checked.
    const tampered = await slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path: '/containers', headers, sendBytes: forged.length, declaredLength: forged.length, fill: ' ', chunkBytes: 16, intervalMs: 10 });
    expect(tampered.status).toBe(401);
    expect(JSON.parse(tampered.body).detail).toMatch(/digest/);
    await expect(docker.getContainer(`boatload-sigcheck-b-${suffix}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // The same signed headers with the body they were made for: the refused attempt did not use the nonce.
    const served = await fetch(satellite.url + '/containers', { method: 'POST', headers, body: genuine });
    expect(served.status).toBe(201);
    expect((await docker.getContainer(`boatload-sigcheck-a-${suffix}`).inspect()).Name).toBe(`/boatload-sigcheck-a-${suffix}`);
    await expect(docker.getContainer(`boatload-sigcheck-b-${suffix}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // Now it is used.
    const replay = await send('/containers', { method: 'POST', headers, body: genuine.toString() });
    expect(replay.status).toBe(401);
    expect((replay.body as { detail: string }).detail).toMatch(/replayed/);
  } finally {
    await docker.getContainer(`boatload-sigcheck-a-${suffix}`).remove({ force: true }).catch(() => undefined);
    await docker.getContainer(`boatload-sigcheck-b-${suffix}`).remove({ force: true }).catch(() => undefined);
  }
});

test('a replay that arrives while the first request is still sending its body is refused', async () => {
  const path = '/containers/boatload-sigcheck-none/stop';
  const body = Buffer.alloc(64 * 1024, 'x');
  const headers = signedHead('POST', path, body);
  // The first sends its body over about a second.
  const first = slowUpload({ url: satellite.url, server: satellite.server, method: 'POST', path, headers, sendBytes: body.length, declaredLength: body.length, chunkBytes: 4096, intervalMs: 60 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const replay = await send(path, { method: 'POST', headers, body: body.toString() });
  expect(replay.status).toBe(401);
  expect((replay.body as { detail: string }).detail).toMatch(/replayed/);
  // The first one is genuine: it reaches the route (no such container).
  expect((await first).status).toBe(404);
});
