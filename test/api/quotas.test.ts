/**
 * Quotas on a real engine: count limits (containers, volumes, snapshots) decided atomically under
 * concurrent creates, batch and fork, per-user overrides set by admins, and the disk watchdog
 * that stops a container whose writable layer, or whose volume, is over its quota.
 */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { ConfigError, loadApiConfig } from '../../api/config';
import { b64, eventually, SATELLITE_SECRET } from '../support/system';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let admin: string;
const agent = new Agent({ keepAlive: false });
const docker = new Docker({ agent } as Docker.DockerOptions);
const MIB = 1024 * 1024;
const WATCH_INTERVAL_MS = 500;

beforeAll(async () => {
  system = await startSandboxSystem({
    BOATLOAD_QUOTA_CONTAINERS: '3',
    BOATLOAD_QUOTA_VOLUMES: '2',
    BOATLOAD_QUOTA_SNAPSHOTS: '1',
    BOATLOAD_QUOTA_CONTAINER_DISK_BYTES: '0',
    BOATLOAD_QUOTA_VOLUME_BYTES: '0',
    BOATLOAD_QUOTA_DISK_WATCH_INTERVAL_MS: String(WATCH_INTERVAL_MS),
    BOATLOAD_FORK_MAX_COUNT: '5',
  });
  admin = await system.token('admin');
});

afterAll(async () => {
  await system.close();
  agent.destroy();
}, 180000);

const SLEEPER = { container_args: ['sleep', '600'] };

async function setQuotas(username: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await system.http().put(`/v1/users/${username}/quotas`).set(...system.auth(admin)).send(body).expect(200)).body;
}

async function engineContainersOf(owner: string): Promise<number> {
  const label = [`boatload.instance=${system.api.instanceId}`, `boatload.owner=${owner}`, 'boatload.id'];
  return (await docker.listContainers({ all: true, filters: { label } })).length;
}

describe('quota settings', () => {
  const base = { SATELLITE_SECRET, BOATLOAD_DATA_DIR: '/nonexistent-boatload-test', BOATLOAD_FLEET_SOCKET: 'off' };
  const quotas = (env: Record<string, string>) => loadApiConfig({ ...base, ...env }).quotas;

  test('defaults: 100 containers, 20 volumes, 50 snapshots, 10 GiB per layer and per volume, measured every 60 s', () => {
    expect(quotas({})).toEqual({
      defaults: { containers: 100, volumes: 20, snapshots: 50, containerDiskBytes: 10 * 1024 * MIB, volumeBytes: 10 * 1024 * MIB },
      diskWatchIntervalMs: 60000,
    });
    expect(quotas({ BOATLOAD_QUOTA_CONTAINERS: '0', BOATLOAD_QUOTA_DISK_WATCH_INTERVAL_MS: '0' })).toMatchObject({ defaults: { containers: 0 }, diskWatchIntervalMs: 0 });
  });

  test('bad values stop the start naming the variable', () => {
    for (const [name, value] of [
      ['BOATLOAD_QUOTA_CONTAINERS', '-1'],
      ['BOATLOAD_QUOTA_VOLUMES', 'many'],
      ['BOATLOAD_QUOTA_SNAPSHOTS', '1.5'],
      ['BOATLOAD_QUOTA_CONTAINER_DISK_BYTES', '10G'],
      ['BOATLOAD_QUOTA_VOLUME_BYTES', ' '],
      ['BOATLOAD_QUOTA_DISK_WATCH_INTERVAL_MS', '50'],
    ]) {
      expect(() => quotas({ [name]: value })).toThrow(ConfigError);
      expect(() => quotas({ [name]: value })).toThrow(name);
    }
  });
});

describe('the quotas route', () => {
  test('admins read and set a user’s quotas; a field left out or null is the default', async () => {
    await system.token('quinn');
    const before = (await system.http().get('/v1/users/quinn/quotas').set(...system.auth(admin)).expect(200)).body;
    expect(before).toEqual({
      username: 'quinn',
      quotas: { containers: 3, volumes: 2, snapshots: 1, container_disk_bytes: 0, volume_bytes: 0 },
      overrides: { containers: null, volumes: null, snapshots: null, container_disk_bytes: null, volume_bytes: null },
      defaults: { containers: 3, volumes: 2, snapshots: 1, container_disk_bytes: 0, volume_bytes: 0 },
      usage: { containers: 0, volumes: 0, snapshots: 0 },
    });
    const after = await setQuotas('quinn', { containers: 7, volume_bytes: MIB, snapshots: null });
    expect(after).toMatchObject({ quotas: { containers: 7, volumes: 2, snapshots: 1, volume_bytes: MIB }, overrides: { containers: 7, volumes: null, volume_bytes: MIB } });
    expect((await system.http().get('/v1/users/quinn/quotas').set(...system.auth(admin)).expect(200)).body).toEqual(after);
    // PUT replaces: what is left out goes back to the default.
    expect((await setQuotas('quinn', { volumes: 0 })).quotas).toEqual({ containers: 3, volumes: 0, snapshots: 1, container_disk_bytes: 0, volume_bytes: 0 });
  });

  test('non-admins get 403 (their own quotas included); unknown users 404; bad values 400 naming the field', async () => {
    const quinn = await system.token('quinn');
    expect((await system.http().get('/v1/users/quinn/quotas').set(...system.auth(quinn)).expect(403)).body.detail).toEqual(expect.any(String));
    await system.http().put('/v1/users/quinn/quotas').set(...system.auth(quinn)).send({ containers: 1000 }).expect(403);
    await system.http().get('/v1/users/nobody-here/quotas').set(...system.auth(admin)).expect(404);
    await system.http().put('/v1/users/nobody-here/quotas').set(...system.auth(admin)).send({}).expect(404);
    for (const [body, field] of [
      [{ containers: -1 }, 'containers'],
      [{ volumes: 1.5 }, 'volumes'],
      [{ snapshots: '3' }, 'snapshots'],
      [{ container_disk_bytes: true }, 'container_disk_bytes'],
      [{ cpus: 2 }, 'cpus'],
    ] as const) {
      const res = await system.http().put('/v1/users/quinn/quotas').set(...system.auth(admin)).send(body).expect(400);
      expect(res.body[field]).toEqual([expect.any(String)]);
    }
    await system.http().put('/v1/users/quinn/quotas').set(...system.auth(admin)).send([1]).expect(400);
  });

  test('a user deleted and created again under the same name starts from the defaults', async () => {
    await system.http().post('/v1/users/').set(...system.auth(admin)).send({ username: 'reborn', password: 'correct-horse-battery' }).expect(201);
    await setQuotas('reborn', { containers: 50 });
    await system.http().delete('/v1/users/reborn').set(...system.auth(admin)).expect(204);
    await system.http().post('/v1/users/').set(...system.auth(admin)).send({ username: 'reborn', password: 'correct-horse-battery' }).expect(201);
    expect((await system.http().get('/v1/users/reborn/quotas').set(...system.auth(admin)).expect(200)).body.quotas.containers).toBe(3);
  });
});

describe('container quota', () => {
  test('the default allows 3; the 4th is a 403 naming the limit; a per-user override beats the default', async () => {
    const alice = await system.token('alice');
    for (let i = 0; i < 3; i++) await system.create(alice, SLEEPER);
    const refused = await system.http().post('/v1/container/').set(...system.auth(alice)).send(SLEEPER).expect(403);
    expect(refused.body).toEqual({ detail: expect.stringMatching(/containers quota is 3/) });
    // Another user is not affected.
    const bob = await system.token('bob');
    await system.create(bob, SLEEPER);

    await setQuotas('alice', { containers: 5 });
    await system.create(alice, SLEEPER);
    await system.create(alice, SLEEPER);
    expect((await system.http().post('/v1/container/').set(...system.auth(alice)).send(SLEEPER).expect(403)).body.detail).toMatch(/containers quota is 5/);
    // Lowered below what she holds: she keeps them, new ones are refused; deleting makes room.
    await setQuotas('alice', { containers: 4 });
    const list = (await system.http().get('/v1/container/').set(...system.auth(alice)).expect(200)).body as Array<{ id: string }>;
    expect(list).toHaveLength(5);
    await system.http().post('/v1/container/').set(...system.auth(alice)).send(SLEEPER).expect(403);
    await system.http().delete(`/v1/container/${list[0]?.id}`).set(...system.auth(alice)).expect(204);
    await system.http().delete(`/v1/container/${list[1]?.id}`).set(...system.auth(alice)).expect(204);
    await system.create(alice, SLEEPER);
    // 0 is unlimited.
    await setQuotas('alice', { containers: 0 });
    await system.create(alice, SLEEPER);
  }, 60000);

  test('20 parallel creates with a quota of 5: exactly 5 succeed, and the engine has exactly 5', async () => {
    const carol = await system.token('carol');
    await setQuotas('carol', { containers: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => system.http().post('/v1/container/').set(...system.auth(carol)).send(SLEEPER)));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 403)).toHaveLength(15);
    expect(answers.find((res) => res.status === 403)?.body.detail).toMatch(/containers quota is 5/);
    expect((await system.http().get('/v1/container/').set(...system.auth(carol)).expect(200)).body).toHaveLength(5);
    expect(await engineContainersOf('carol')).toBe(5);
  }, 60000);

  test('a batch creates up to the quota; the rest answer 403 in their slots', async () => {
    const hank = await system.token('hank');
    await system.create(hank, SLEEPER);
    const res = await system.http().post('/v1/container/batch').set(...system.auth(hank)).send({ requests: Array.from({ length: 4 }, () => SLEEPER) }).expect(202);
    const done = await system.operation(hank, res.body.operation.id as string, 60000);
    const result = done.result as { created: number; failed: number; containers: Array<{ id?: string; error?: { status: number; body: { detail: string } } }> };
    expect(result).toMatchObject({ created: 2, failed: 2 });
    const errors = result.containers.filter((c) => c.error).map((c) => c.error);
    expect(errors).toEqual([
      { status: 403, body: { detail: expect.stringMatching(/containers quota is 3/) } },
      { status: 403, body: { detail: expect.stringMatching(/containers quota is 3/) } },
    ]);
    expect(await engineContainersOf('hank')).toBe(3);
  }, 60000);
});

describe('snapshot quota and forks', () => {
  test('a fork needs room for all its copies and one snapshot, or it is a 403 before anything is done', async () => {
    const gina = await system.token('gina');
    const original = await system.create(gina, SLEEPER, 'wait=ready');
    // 1 of 3 containers: 2 copies fit, 3 do not.
    const refused = await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(gina)).send({ count: 3 }).expect(403);
    expect(refused.body.detail).toMatch(/containers quota is 3 containers \(this request needs 3 more\)/);
    expect((await system.http().get('/v1/snapshots/').set(...system.auth(gina)).expect(200)).body).toEqual([]);

    const res = await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(gina)).send({ count: 2 }).expect(202);
    const done = await system.operation(gina, res.body.operation.id as string, 120000);
    expect(done.status).toBe('succeeded');
    expect((done.result as { containers: string[] }).containers).toHaveLength(2);
    // The fork's snapshot used her one snapshot.
    const snapshot = await system.http().post(`/v1/container/${original}/snapshot`).set(...system.auth(gina)).send({}).expect(403);
    expect(snapshot.body.detail).toMatch(/snapshots quota is 1/);
    await system.http().post(`/v1/container/${original}/fork`).set(...system.auth(admin)).send({ count: 1 }).expect(202);
  }, 180000);

  test('parallel snapshots with a quota of 2: exactly 2 are kept, the others fail naming the quota and leave no image', async () => {
    const jack = await system.token('jack');
    await setQuotas('jack', { snapshots: 2 });
    const source = await system.create(jack, SLEEPER, 'wait=ready');
    const accepted = await Promise.all(Array.from({ length: 5 }, () => system.http().post(`/v1/container/${source}/snapshot`).set(...system.auth(jack)).send({}).expect(202)));
    const done = await Promise.all(accepted.map((res) => system.operation(jack, res.body.operation.id as string, 120000)));
    expect(done.filter((op) => op.status === 'succeeded')).toHaveLength(2);
    const failed = done.filter((op) => op.status === 'failed');
    expect(failed).toHaveLength(3);
    for (const op of failed) expect(String(op.error)).toMatch(/snapshots quota is 2/);
    expect((await system.http().get('/v1/snapshots/').set(...system.auth(jack)).expect(200)).body).toHaveLength(2);
    const images = await docker.listImages({ filters: { label: [`boatload.instance=${system.api.instanceId}`, 'boatload.owner=jack'] } });
    expect(images).toHaveLength(2);
  }, 180000);
});

describe('volume quota', () => {
  test('8 parallel creates with the default of 2: exactly 2 succeed, and the engine has exactly 2', async () => {
    const ivy = await system.token('ivy');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => system.http().post('/v1/volumes/').set(...system.auth(ivy)).send({ name: `v${i}` })));
    expect(answers.filter((res) => res.status === 201)).toHaveLength(2);
    const refused = answers.filter((res) => res.status === 403);
    expect(refused).toHaveLength(6);
    expect(refused[0]?.body).toEqual({ detail: expect.stringMatching(/volumes quota is 2/) });
    const { Volumes: volumes } = await docker.listVolumes({ filters: { label: [`boatload.instance=${system.api.instanceId}`, 'boatload.owner=ivy'] } });
    expect(volumes ?? []).toHaveLength(2);
    // An override lets one more in.
    await setQuotas('ivy', { volumes: 3 });
    await system.http().post('/v1/volumes/').set(...system.auth(ivy)).send({ name: 'third' }).expect(201);
    await system.http().post('/v1/volumes/').set(...system.auth(ivy)).send({ name: 'fourth' }).expect(403);
  }, 60000);
});

describe('the disk watchdog', () => {
  async function statusOf(token: string, id: string): Promise<{ status: string; reason: string | null }> {
    return (await system.http().get(`/v1/container/${id}/`).set(...system.auth(token)).expect(200)).body;
  }

  test('a container writing more than its writable-layer quota is stopped with the reason within the interval; one under it runs on', async () => {
    const erin = await system.token('erin');
    await setQuotas('erin', { container_disk_bytes: 5 * MIB });
    const small = await system.create(erin, { script: b64('#!/bin/sh\ndd if=/dev/zero of=/tmp/small bs=1M count=1 2>/dev/null\nsleep 600\n') }, 'wait=ready');
    const big = await system.create(erin, { script: b64('#!/bin/sh\ndd if=/dev/zero of=/tmp/big bs=1M count=20 2>/dev/null\ntouch /tmp/written\nsleep 600\n') }, 'wait=ready');
    await eventually(async () => ((await docker.getContainer(`boatload-${big}`).inspect({ size: true } as object)) as { SizeRw?: number }).SizeRw! > 5 * MIB || undefined, 20000, 'the write');
    const written = Date.now();
    const stopped = await eventually(async () => {
      const state = await statusOf(erin, big);
      return state.status === 'error' ? state : undefined;
    }, 20000, 'the stop');
    // Within one interval, a measurement and a stop; the stop gives the process its grace period
    // (BOATLOAD_STOP_TIMEOUT_SECONDS, 5 s: `sh` ignores SIGTERM). Measured here: ~5.3 s.
    expect(Date.now() - written).toBeLessThan(WATCH_INTERVAL_MS + 5000 + 5000);
    expect(stopped.reason).toMatch(/^writable layer over its quota of 5242880 bytes \(it holds \d+ bytes\)$/);
    expect((await docker.getContainer(`boatload-${big}`).inspect()).State.Running).toBe(false);
    const state = (await system.http().get(`/v1/container/${big}/state`).set(...system.auth(erin)).expect(200)).body;
    expect(state).toMatchObject({ status: 'error', reason: stopped.reason });
    expect(await statusOf(erin, small)).toMatchObject({ status: 'running', reason: null });
    // Another round leaves it stopped and the small one running.
    await system.api.diskWatchdog.check();
    expect((await statusOf(erin, big)).status).toBe('error');
    expect((await statusOf(erin, small)).status).toBe('running');
  }, 60000);

  test('the containers writing to a volume over its quota are stopped with the reason; a read-only reader runs on', async () => {
    const frank = await system.token('frank');
    await setQuotas('frank', { volume_bytes: 5 * MIB });
    const volume = (await system.http().post('/v1/volumes/').set(...system.auth(frank)).send({ name: 'big' }).expect(201)).body as { id: string };
    const reader = await system.create(frank, { container_args: ['sleep', '600'], volumes: [{ name: 'big', path: '/data', readonly: true }] }, 'wait=ready');
    const writer = await system.create(frank, { script: b64('#!/bin/sh\ndd if=/dev/zero of=/data/big bs=1M count=20 2>/dev/null\nsleep 600\n'), volumes: [{ name: 'big', path: '/data' }] }, 'wait=ready');
    const stopped = await eventually(async () => {
      const state = await statusOf(frank, writer);
      return state.status === 'error' ? state : undefined;
    }, 20000, 'the stop');
    expect(stopped.reason).toMatch(new RegExp(`^volume "big" \\(${volume.id}\\) over its quota of 5242880 bytes \\(it holds \\d+ bytes\\)$`));
    expect((await docker.getContainer(`boatload-${writer}`).inspect()).State.Running).toBe(false);
    expect(await statusOf(frank, reader)).toMatchObject({ status: 'running', reason: null });
    // No helper container is left behind.
    expect(await docker.listContainers({ all: true, filters: { label: ['boatload.helper=disk-usage'] } })).toEqual([]);
  }, 60000);

  test('started again while still over its quota, it is stopped again', async () => {
    const erin = await system.token('erin');
    const list = (await system.http().get('/v1/container/').set(...system.auth(erin)).expect(200)).body as Array<{ id: string; status: string }>;
    const big = list.find((c) => c.status === 'error')?.id as string;
    const firstStart = (await docker.getContainer(`boatload-${big}`).inspect()).State.StartedAt;
    const res = await system.http().post(`/v1/container/${big}/start`).set(...system.auth(erin)).send({}).expect(202);
    expect((await system.operation(erin, res.body.operation.id as string, 60000)).status).toBe('succeeded');
    const again = await eventually(async () => {
      const state = await statusOf(erin, big);
      return state.status === 'error' ? state : undefined;
    }, 20000, 'the second stop');
    expect(again.reason).toMatch(/writable layer over its quota/);
    // It did run again (the start cleared the reason), and it was stopped again.
    const engine = (await docker.getContainer(`boatload-${big}`).inspect()).State;
    expect(engine.StartedAt).not.toBe(firstStart);
    expect(engine.Running).toBe(false);
  }, 60000);
});
