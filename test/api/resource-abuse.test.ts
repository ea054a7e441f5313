/**
 * Scripts that try to take the host down: a fork bomb and an output flood. Default per-container
 * limits (pids, memory, CPU) and log rotation keep the API, the satellite and the host responsive.
 */
import Docker from 'dockerode';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let token: string;

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_CONTAINER_PIDS_LIMIT: '64', BOATLOAD_CONTAINER_MEMORY_BYTES: String(128 * 1024 * 1024) });
  token = await system.token('admin');
});

afterAll(async () => {
  await system.close();
});

/** The API answers a listing and a health check promptly (generous bound: a loaded CI box). */
async function expectResponsive(): Promise<void> {
  const started = Date.now();
  await system.http().get('/health').expect(200);
  await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);
  expect(Date.now() - started).toBeLessThan(5000);
}

test('a fork bomb hits its pids limit; the API stays responsive and can delete it', async () => {
  // The main shell spins on builtins: once the bomb holds every pid, it could not fork a sleep.
  const script = '#!/bin/sh\nbomb() { bomb | bomb & }\nbomb\nwhile :; do :; done\n';
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ script: b64(script) }).expect(201);
  const id = res.body.id as string;
  const info = await new Docker().getContainer(`boatload-${id}`).inspect();
  expect(info.HostConfig.PidsLimit).toBe(64);
  expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
  // The bomb always reaches the limit, and the shell says so.
  await eventually(async () => {
    const out = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${token}`);
    return out.text.includes("can't fork") ? true : undefined;
  }, 20000, 'the bomb to hit its pids limit');
  await expectResponsive();
  await system.http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${token}`).expect(204);
  await expectResponsive();
});

test('an output flood is stored with rotation and read back as a stream', async () => {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ script: b64('#!/bin/sh\ntimeout 3 yes flood\necho done\n') }).expect(201);
  const id = res.body.id as string;
  const info = await new Docker().getContainer(`boatload-${id}`).inspect();
  expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': expect.any(String), 'max-file': expect.any(String) } });
  await expectResponsive();
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`);
    return state.body.status === 'exited' ? true : undefined;
  }, 30000, 'the flood to end');
  const tail = await system.http().get(`/v1/container/${id}/stdout?tail=2`).set('Authorization', `JWT ${token}`).expect(200);
  // `timeout` may cut the last "flood" mid-line, so only the end is certain.
  expect(tail.text).toMatch(/done\n$/);
  expect(tail.text.split('\n').length).toBeLessThanOrEqual(3);
  await expectResponsive();
});
