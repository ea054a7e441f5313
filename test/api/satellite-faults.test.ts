/**
 * The satellite dies in the middle of a stream: the client sees a truncated response (never a
 * hang), the API stays healthy apart from naming the satellite, and everything is served again
 * once the satellite is back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let token: string;
let server: Server;
let id: string;
const OUTPUT_BYTES = 64 * 1024 * 1024;

beforeAll(async () => {
  system = await startSystem();
  token = await system.token('admin');
  // A real listening API, so the client below is an ordinary HTTP client.
  server = await new Promise<Server>((resolve) => {
    const s = system.api.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const script = `#!/bin/sh\nhead -c ${OUTPUT_BYTES} /dev/zero | tr '\\0' x\nmkdir -p /big && head -c ${OUTPUT_BYTES} /dev/urandom > /big/blob\n`;
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ script: b64(script) }).expect(201);
  id = res.body.id;
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`);
    return state.body.status === 'exited' ? true : undefined;
  }, 60000, 'the writer to exit');
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await system.close();
});

interface StreamOutcome {
  bytes: number;
  complete: boolean;
  error?: string;
}

/** Reads a route slowly; after the first chunk, kills the satellite. */
function readWhileKilling(path: string): Promise<StreamOutcome> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    let bytes = 0;
    let killed = false;
    const req = http.get({ host: '127.0.0.1', port, path, headers: { Authorization: `JWT ${token}` } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!killed) {
          killed = true;
          void system.stopSatellite();
        }
      });
      res.on('end', () => resolve({ bytes, complete: res.complete }));
      res.on('aborted', () => resolve({ bytes, complete: false, error: 'aborted' }));
      res.on('error', (err) => resolve({ bytes, complete: false, error: err.message }));
    });
    req.on('error', (err) => resolve({ bytes, complete: false, error: err.message }));
    req.setTimeout(30000, () => {
      req.destroy(new Error('client timeout: the API hung'));
    });
  });
}

test.each([
  ['stdout', 'stdout', OUTPUT_BYTES],
  ['archive', 'archive', OUTPUT_BYTES],
])('killed mid-%s: a truncated response, then full service when the satellite is back', async (_name, route, fullSize) => {
  const outcome = await readWhileKilling(`/v1/container/${id}/${route}`);
  expect(outcome.error).not.toMatch(/hung/);
  expect(outcome.complete).toBe(false);
  expect(outcome.bytes).toBeLessThan(fullSize);

  const health = await system.http().get('/health').set('Authorization', `JWT ${token}`).expect(503);
  expect(Object.values(health.body.satellites)[0]).toMatch(/unavailable/);
  const down = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`).expect(503);
  expect(down.body.detail).toMatch(/satellite .* is unavailable/);
  await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);

  await system.restartSatellite();
  await system.http().get('/health').expect(200);
  const again = await system.http().get(`/v1/container/${id}/${route}`).set('Authorization', `JWT ${token}`).buffer(true).parse((res, cb) => {
    let n = 0;
    res.on('data', (c: Buffer) => (n += c.length));
    res.on('end', () => cb(null, n));
  }).expect(200);
  expect(again.body).toBeGreaterThanOrEqual(fullSize);
  // Two 64 MiB reads, a satellite stop and a restart: on a busy 2-core machine that outgrew 60 s.
}, 150000);
