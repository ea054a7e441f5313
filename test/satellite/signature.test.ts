/** The satellite refuses every request that is not signed by the API with the cluster secret. */
import fetch from 'node-fetch';
import { signRequest } from '../../common/signing';
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
