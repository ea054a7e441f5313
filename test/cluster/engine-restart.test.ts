/**
 * The Docker Engine restarts under a running BoatLoad (API + satellite, local backend): a dedicated
 * one-node engine (never the shared /var/run/docker.sock) is stopped as a service manager stops it
 * (dockerd stops its containers), or SIGKILLed alone, and started again on the same data root
 * (without live-restore, as Debian ships it). BoatLoad reports the
 * engine down meanwhile, then the engine's answer: a one-shot container that was running has
 * exited, a permanent one (restart policy always) runs again, one that had finished is unchanged.
 * No record is lost; every output stays readable, and new containers run.
 */
import { startSystem, type TestSystem } from '../support/system';
import { Cluster } from './harness';
import { b64, eventually } from './system';

let cluster: Cluster;
let system: TestSystem;
let token: string;

interface State {
  status: string;
  exit_code?: number | null;
  docker_state: { Running?: boolean; ExitCode?: number; StartedAt?: string; Status?: string };
}

beforeAll(async () => {
  const up = await Cluster.up(1);
  cluster = up.cluster;
  process.stdout.write(`[cluster] 1-node engine ready in ${up.readyMs} ms\n`);
  system = await startSystem({}, { dockerSocket: cluster.node(1).socket });
  token = await system.token('erin');
});

afterAll(async () => {
  await system?.close();
  await cluster?.down();
});

const auth = (): [string, string] => ['Authorization', `JWT ${token}`];

async function create(script: string, permanent: boolean): Promise<string> {
  const res = await system.http().post('/v1/container/').set(...auth()).send({ script: b64(script), permanent });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function stateOf(id: string): Promise<State> {
  const res = await system.http().get(`/v1/container/${id}/state`).set(...auth());
  if (res.status !== 200) throw new Error(`state: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as State;
}

const inStatus = (id: string, status: string, timeoutMs = 60000): Promise<State> =>
  eventually(`${id} ${status}`, async () => {
    const state = await stateOf(id);
    return state.status === status ? state : undefined;
  }, timeoutMs);

async function stdout(id: string): Promise<string> {
  const res = await system.http().get(`/v1/container/${id}/stdout`).set(...auth());
  if (res.status !== 200) throw new Error(`stdout: ${res.status} ${res.text}`);
  return res.text;
}

async function listed(): Promise<Map<string, { status: string; exit_code: number | null }>> {
  const res = await system.http().get('/v1/container/').set(...auth()).expect(200);
  return new Map((res.body as Array<{ id: string; status: string; exit_code: number | null }>).map((c) => [c.id, c]));
}

/** Every container this file created, to check that the listing holds exactly those. */
const known: string[] = [];

async function createKnown(script: string, permanent: boolean): Promise<string> {
  const id = await create(script, permanent);
  known.push(id);
  return id;
}

test.each([
  ['stopped (SIGTERM: dockerd stops its containers)', 'term' as const],
  ['killed (SIGKILL: its containers outlive it)', 'kill' as const],
])('dockerd %s and started again: states are the engine answer, no record is lost', async (_name, how) => {
  const finished = await createKnown('#!/bin/sh\necho finished-before\n', false);
  const oneShot = await createKnown('#!/bin/sh\necho one-shot-started\nexec sleep 600\n', false);
  const permanent = await createKnown('#!/bin/sh\necho permanent-boot\nexec sleep 600\n', true);
  const finishedBefore = await inStatus(finished, 'exited');
  await inStatus(oneShot, 'running');
  const permanentBefore = await inStatus(permanent, 'running');
  await eventually('outputs written', async () => ((await stdout(oneShot)) === 'one-shot-started\n' && (await stdout(permanent)) === 'permanent-boot\n' ? true : undefined));

  const t0 = Date.now();
  await cluster.stopEngine(1, how);
  const stoppedMs = Date.now() - t0;
  // The engine is down: /health names it, the records are still listed, a create is refused.
  const down = await system.http().get('/health').expect(503);
  expect(down.body.status).toBe('unavailable');
  expect([...(await listed()).keys()].sort()).toEqual([...known].sort());
  const refused = await system.http().post('/v1/container/').set(...auth()).send({ script: b64('#!/bin/sh\necho never\n') });
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual({ detail: expect.any(String) });

  const t1 = Date.now();
  await cluster.startEngine(1);
  const startedMs = Date.now() - t1;
  await eventually('health ok', async () => ((await system.http().get('/health')).status === 200 ? true : undefined));
  const healthyMs = Date.now() - t1;

  // The one-shot container did not survive the engine's restart: exited, and not started again.
  const oneShotAfter = await inStatus(oneShot, 'exited');
  expect(oneShotAfter.docker_state.Running).toBe(false);
  expect(oneShotAfter.docker_state.ExitCode).not.toBe(0);
  // The permanent one (Restart=always) runs again: the engine restarted it, BoatLoad shows it.
  const permanentAfter = await inStatus(permanent, 'running');
  const permanentMs = Date.now() - t1;
  expect(Date.parse(permanentAfter.docker_state.StartedAt ?? '')).toBeGreaterThan(Date.parse(permanentBefore.docker_state.StartedAt ?? ''));
  // The finished one is as it was.
  const finishedAfter = await inStatus(finished, 'exited');
  expect(finishedAfter.docker_state.ExitCode).toBe(0);
  expect(finishedAfter.docker_state.StartedAt).toBe(finishedBefore.docker_state.StartedAt);

  // Every record, with the state the listing reports (the 2 s sync) matching the engine's.
  const after = await eventually('listing converged', async () => {
    const list = await listed();
    return list.get(oneShot)?.status === 'exited' && list.get(permanent)?.status === 'running' ? list : undefined;
  });
  expect([...after.keys()].sort()).toEqual([...known].sort());
  expect(after.get(finished)).toMatchObject({ status: 'exited', exit_code: 0 });
  expect(after.get(oneShot)?.exit_code).toBe(oneShotAfter.docker_state.ExitCode);

  // Every output survives; the permanent container's holds both boots.
  expect(await stdout(finished)).toBe('finished-before\n');
  expect(await stdout(oneShot)).toBe('one-shot-started\n');
  expect(await eventually('second boot logged', async () => ((await stdout(permanent)) === 'permanent-boot\npermanent-boot\n' ? true : undefined))).toBe(true);

  // And new work runs on the restarted engine.
  const fresh = await createKnown('#!/bin/sh\necho after-restart\n', false);
  await inStatus(fresh, 'exited');
  expect(await stdout(fresh)).toBe('after-restart\n');
  process.stdout.write(
    `[cluster] dockerd ${how}: down in ${stoppedMs} ms; started in ${startedMs} ms; /health ok after ${healthyMs} ms; ` +
      `permanent running after ${permanentMs} ms; one-shot exit code ${oneShotAfter.docker_state.ExitCode}\n`,
  );
});
