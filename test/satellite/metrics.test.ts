/** The satellite's GET /metrics: signed like every route; shows its own HTTP and engine metrics. */
import { signRequest } from '../../common/signing';
import { sampleValue } from '../support/prometheus';
import { SATELLITE_SECRET, startSatellite, type SatelliteHandle } from '../support/system';

let satellite: SatelliteHandle;

beforeAll(async () => {
  satellite = await startSatellite();
});

afterAll(async () => {
  await satellite.close();
});

function signed(path: string): Record<string, string> {
  return signRequest(SATELLITE_SECRET, { method: 'GET', path, body: Buffer.alloc(0) });
}

test('an unsigned scrape is refused', async () => {
  const res = await fetch(`${satellite.url}/metrics`);
  expect(res.status).toBe(401);
});

test('a signed scrape shows the HTTP and engine call metrics moving', async () => {
  const first = await (await fetch(`${satellite.url}/metrics`, { headers: signed('/metrics') })).text();
  expect((await fetch(`${satellite.url}/health`, { headers: signed('/health') })).status).toBe(200);
  expect((await fetch(`${satellite.url}/containers/boatload-nosuch-metrics`, { headers: signed('/containers/boatload-nosuch-metrics') })).status).toBe(404);
  const res = await fetch(`${satellite.url}/metrics`, { headers: signed('/metrics') });
  expect(res.status).toBe(200);
  const text = await res.text();
  const health = (t: string): number => sampleValue(t, 'boatload_satellite_http_requests_total', { method: 'GET', route: '/health', status: '200' });
  expect(health(text) - health(first)).toBe(1);
  expect(sampleValue(text, 'boatload_satellite_http_requests_total', { method: 'GET', route: '/containers/:name', status: '404' })).toBe(1);
  expect(sampleValue(text, 'boatload_satellite_http_requests_total', { method: 'GET', route: 'unmatched', status: '401' })).toBeGreaterThanOrEqual(1);
  expect(sampleValue(text, 'boatload_satellite_engine_call_duration_seconds_count', { operation: 'ping', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
  expect(sampleValue(text, 'boatload_satellite_engine_call_duration_seconds_count', { operation: 'inspect', outcome: 'error' })).toBe(1);
});

test('calls of the session and engine-object wrappers are timed too, each under its own prefix', async () => {
  const exec = '/containers/boatload-nosuch-metrics/exec';
  const body = Buffer.from(JSON.stringify({ cmd: ['true'], timeoutMs: 5000, maxOutputBytes: 1024 }));
  const execRes = await fetch(`${satellite.url}${exec}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...signRequest(SATELLITE_SECRET, { method: 'POST', path: exec, body }) } });
  expect(execRes.status).toBe(404);
  const volume = '/volumes/boatload-nosuch-metrics';
  expect((await fetch(`${satellite.url}${volume}`, { headers: signed(volume) })).status).toBe(404);
  const text = await (await fetch(`${satellite.url}/metrics`, { headers: signed('/metrics') })).text();
  expect(sampleValue(text, 'boatload_satellite_engine_call_duration_seconds_count', { operation: 'sessions.exec', outcome: 'error' })).toBe(1);
  expect(sampleValue(text, 'boatload_satellite_engine_call_duration_seconds_count', { operation: 'objects.inspectVolume', outcome: 'error' })).toBe(1);
});
