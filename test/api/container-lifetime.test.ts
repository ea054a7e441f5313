/**
 * Container lifetimes on a real engine: `ttl` on create, the installation's default for one-shot
 * containers, `expires_at` in every read, and the reaper that removes expired containers with
 * everything staged for them (also across an API restart).
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import request from 'supertest';
import type { Logger } from '../../common/logger';
import { ConfigError, loadApiConfig } from '../../api/config';
import { removeInstanceSandboxResources } from '../support/resources';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const REAP_INTERVAL_MS = 500;
const DEFAULT_TTL = 3600;
const MAX_TTL = 7200;

/** Records what the API logs (info and up), as `[component] message`. */
function recordingLogger(lines: string[], component = 'api'): Logger {
  const record = (message: string): void => {
    lines.push(`[${component}] ${message}`);
  };
  return { debug: () => undefined, info: record, warn: record, error: record, child: (name) => recordingLogger(lines, `${component}:${name}`) };
}

// Its own agent, destroyed after, so no keep-alive socket to the engine outlives the suite.
const engineAgent = new Agent({ keepAlive: false });
const docker = new Docker({ agent: engineAgent } as Docker.DockerOptions);
const logLines: string[] = [];
let system: TestSystem;
let alice: string;
let bob: string;

beforeAll(async () => {
  system = await startSystem(
    {
      BOATLOAD_CONTAINER_TTL_SECONDS: String(DEFAULT_TTL),
      BOATLOAD_CONTAINER_TTL_MAX_SECONDS: String(MAX_TTL),
      BOATLOAD_CONTAINER_REAP_INTERVAL_MS: String(REAP_INTERVAL_MS),
      BOATLOAD_STOP_TIMEOUT_SECONDS: '2',
    },
    { logger: recordingLogger(logLines) },
  );
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  const instanceId = system.api.instanceId;
  await system.close();
  // The fork's snapshot image.
  await removeInstanceSandboxResources(instanceId);
  engineAgent.destroy();
});

const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];

async function create(token: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await system.http().post('/v1/container/').set(...auth(token)).send(body);
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown>;
}

/** expires_at must be `seconds` after created (to the millisecond: both come from one clock read). */
function expectLifetime(record: Record<string, unknown>, seconds: number | null): void {
  if (seconds === null) {
    expect(record.expires_at).toBeNull();
    return;
  }
  expect(record.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Date.parse(record.expires_at as string) - Date.parse(record.created as string)).toBe(seconds * 1000);
}

/** The record, the listing and the state all show the same expires_at. */
async function expectEveryReadShows(token: string, id: string, expiresAt: string | null): Promise<void> {
  const record = await system.http().get(`/v1/container/${id}/`).set(...auth(token)).expect(200);
  expect(record.body.expires_at).toBe(expiresAt);
  const listing = await system.http().get('/v1/container/').set(...auth(token)).expect(200);
  const entry = (listing.body as Array<Record<string, unknown>>).find((c) => c.id === id);
  expect(entry?.expires_at).toBe(expiresAt);
  const state = await system.http().get(`/v1/container/${id}/state`).set(...auth(token)).expect(200);
  expect(state.body.expires_at).toBe(expiresAt);
}

async function engineHas(name: string): Promise<boolean> {
  try {
    await docker.getContainer(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

const scriptDirOf = (id: string): string => join(system.dataDir, 'scripts', `boatload-${id}`);

// Exits at once on SIGTERM (the trap runs as soon as `wait` is interrupted).
const LONG_SCRIPT = "#!/bin/sh\ntrap 'exit 0' TERM\necho started\nsleep 600 &\nwait\n";

describe('ttl on create', () => {
  test('ttl=2: the running container, its engine container, its script and its record are gone within ttl + one sweep', async () => {
    // What a DELETE of the same kind of container costs (stop, engine remove, store), for the bound below.
    const twin = (await create(alice, { script: b64(LONG_SCRIPT), ttl: 600 })).id as string;
    await eventually(async () => ((await system.http().get(`/v1/container/${twin}/stdout`).set(...auth(alice))).text.includes('started') ? true : undefined));
    const deleteStarted = Date.now();
    await system.http().delete(`/v1/container/${twin}/`).set(...auth(alice)).expect(204);
    const deleteMs = Date.now() - deleteStarted;

    const created = await create(alice, { script: b64(LONG_SCRIPT), ttl: 2 });
    const id = created.id as string;
    const createdAt = Date.parse(created.created as string);
    expectLifetime(created, 2);
    expect(created.ttl).toBe(2);
    await expectEveryReadShows(alice, id, created.expires_at as string);
    // Someone else still sees nothing of it.
    await system.http().get(`/v1/container/${id}/`).set(...auth(bob)).expect(404);
    expect(await engineHas(`boatload-${id}`)).toBe(true);
    expect(existsSync(join(scriptDirOf(id), 'script'))).toBe(true);

    await eventually(async () => ((await system.http().get(`/v1/container/${id}/`).set(...auth(alice))).status === 404 ? true : undefined), 20000, 'the record to go');
    const goneAfterMs = Date.now() - createdAt;
    // ttl, then at most one sweep interval, then the removal (twice a DELETE's time, for a loaded engine), plus polling slack.
    expect(goneAfterMs).toBeGreaterThanOrEqual(2000);
    expect(goneAfterMs).toBeLessThan(2000 + REAP_INTERVAL_MS + 2 * deleteMs + 1000);
    console.log(`ttl=2 container gone ${goneAfterMs} ms after its creation (sweep every ${REAP_INTERVAL_MS} ms; a DELETE took ${deleteMs} ms)`);
    expect(await engineHas(`boatload-${id}`)).toBe(false);
    expect(existsSync(scriptDirOf(id))).toBe(false);
    await system.http().get(`/v1/container/${id}/state`).set(...auth(alice)).expect(404);
    const listing = await system.http().get('/v1/container/').set(...auth(alice)).expect(200);
    expect((listing.body as Array<{ id: string }>).map((c) => c.id)).not.toContain(id);
    // One log line for it, naming the container, its owner and its lifetime.
    const lines = logLines.filter((line) => line.includes(id));
    expect(lines).toEqual([`[api:reaper] reaped container ${id} of alice: its lifetime of 2 s ended at ${created.expires_at as string}`]);
  });

  test('a container not yet expired is left alone by the sweeps', async () => {
    const created = await create(alice, { container_args: ['sleep', '600'], ttl: 60 });
    await new Promise((resolve) => setTimeout(resolve, REAP_INTERVAL_MS * 3));
    await system.http().get(`/v1/container/${created.id as string}/`).set(...auth(alice)).expect(200);
    expect(await engineHas(`boatload-${created.id as string}`)).toBe(true);
  });

  test('multipart and batch create take ttl too', async () => {
    const multipart = await system
      .http()
      .post('/v1/container/')
      .set(...auth(alice))
      .field('ttl', '90')
      .attach('script', Buffer.from('#!/bin/sh\necho hi\n'), 'script')
      .expect(201);
    expectLifetime(multipart.body, 90);
    const batch = await system.http().post('/v1/container/batch').set(...auth(alice)).send({ requests: [{ container_args: ['true'], ttl: 120 }, { container_args: ['true'], ttl: MAX_TTL + 1 }] }).expect(202);
    const done = await eventually(async () => {
      const res = await system.http().get(`/v1/operations/${batch.body.operation.id as string}`).set(...auth(alice));
      return res.body.operation.status === 'succeeded' ? (res.body.operation as { result: { containers: Array<{ id?: string; error?: { status: number; body: Record<string, string[]> } }> } }) : undefined;
    });
    const [first, second] = done.result.containers;
    const record = await system.http().get(`/v1/container/${first?.id as string}/`).set(...auth(alice)).expect(200);
    expectLifetime(record.body, 120);
    expect(second?.error?.status).toBe(400);
    expect(second?.error?.body.ttl?.[0]).toMatch(/administrator's maximum/);
  });
});

describe('the default lifetime', () => {
  test('applies to one-shot containers, not to permanent ones unless they ask', async () => {
    const oneShot = await create(alice, { container_args: ['true'] });
    expectLifetime(oneShot, DEFAULT_TTL);
    expect(oneShot.ttl).toBe(DEFAULT_TTL);
    await expectEveryReadShows(alice, oneShot.id as string, oneShot.expires_at as string);

    const permanent = await create(alice, { container_args: ['sleep', '600'], permanent: true });
    expectLifetime(permanent, null);
    expect(permanent.ttl).toBeNull();
    await expectEveryReadShows(alice, permanent.id as string, null);

    const permanentWithTtl = await create(alice, { container_args: ['sleep', '600'], permanent: true, ttl: 600 });
    expectLifetime(permanentWithTtl, 600);
    await expectEveryReadShows(alice, permanentWithTtl.id as string, permanentWithTtl.expires_at as string);
  });
});

describe('forks', () => {
  test("each copy gets the original's ttl, counted from the fork", async () => {
    const original = await create(alice, { container_args: ['sleep', '600'], permanent: true, ttl: 900 });
    const res = await system.http().post(`/v1/container/${original.id as string}/fork`).set(...auth(alice)).send({ count: 1 }).expect(202);
    const done = await eventually(async () => {
      const op = await system.http().get(`/v1/operations/${res.body.operation.id as string}`).set(...auth(alice));
      return ['succeeded', 'failed'].includes(op.body.operation.status) ? (op.body.operation as { status: string; result: { containers: string[] } }) : undefined;
    }, 60000, 'the fork');
    expect(done.status).toBe('succeeded');
    const copy = await system.http().get(`/v1/container/${done.result.containers[0]}/`).set(...auth(alice)).expect(200);
    expect(copy.body.ttl).toBe(900);
    expectLifetime(copy.body, 900);
    expect(Date.parse(copy.body.expires_at as string)).toBeGreaterThan(Date.parse(original.expires_at as string));
  });
});

describe('refusals', () => {
  test.each([
    [{ ttl: MAX_TTL + 1 }, /administrator's maximum/],
    [{ ttl: 0 }, /0 \(no lifetime\) is over the administrator's maximum/],
    [{ ttl: -1 }, /0 \(no lifetime\) or more/],
    [{ ttl: 1.5 }, /whole number/],
    [{ ttl: '60' }, /number/],
    [{ ttl: null }, /number/],
  ])('%j is a 400 naming ttl', async (body, message) => {
    const before = await docker.listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } });
    const res = await system.http().post('/v1/container/').set(...auth(alice)).send({ container_args: ['true'], ...body }).expect(400);
    expect(Object.keys(res.body)).toEqual(['ttl']);
    expect(res.body.ttl[0]).toMatch(message);
    const after = await docker.listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } });
    expect(after.length).toBe(before.length);
  });

  test('multipart: over the maximum and not a number are 400s naming ttl', async () => {
    for (const [value, message] of [[String(MAX_TTL + 1), /administrator's maximum/], ['soon', /number/]] as const) {
      const res = await system.http().post('/v1/container/').set(...auth(alice)).field('ttl', value).attach('script', Buffer.from('#!/bin/sh\n'), 'script').expect(400);
      expect(res.body.ttl[0]).toMatch(message);
    }
  });
});

describe('an API restart', () => {
  test('keeps expires_at, and a container that expired while the API was down is reaped when it starts', async () => {
    const kept = await create(alice, { container_args: ['sleep', '600'], ttl: 600 });
    const doomed = await create(alice, { script: b64(LONG_SCRIPT), ttl: 2 });
    const doomedId = doomed.id as string;
    await system.stopApi();
    // Expired while no API ran.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await engineHas(`boatload-${doomedId}`)).toBe(true);
    await system.startApi();
    await expectEveryReadShows(alice, kept.id as string, kept.expires_at as string);
    await eventually(async () => ((await system.http().get(`/v1/container/${doomedId}/`).set(...auth(alice))).status === 404 ? true : undefined), 10000, 'the expired container to go');
    expect(await engineHas(`boatload-${doomedId}`)).toBe(false);
    expect(existsSync(scriptDirOf(doomedId))).toBe(false);
  });

  test('a restart between create and expiry still reaps', async () => {
    const created = await create(alice, { container_args: ['sleep', '600'], ttl: 3 });
    const id = created.id as string;
    await system.restartApi();
    await expectEveryReadShows(alice, id, created.expires_at as string);
    await eventually(async () => ((await system.http().get(`/v1/container/${id}/`).set(...auth(alice))).status === 404 ? true : undefined), 15000, 'the container to go');
    expect(await engineHas(`boatload-${id}`)).toBe(false);
  });
});

describe('without a maximum', () => {
  let open: TestSystem;

  beforeAll(async () => {
    open = await startSystem({ BOATLOAD_CONTAINER_TTL_SECONDS: '0', BOATLOAD_CONTAINER_TTL_MAX_SECONDS: '0' });
  });

  afterAll(async () => {
    await open.close();
  });

  test('ttl 0 asks for no lifetime; with no default a one-shot container has none', async () => {
    const token = await open.token('alice');
    const post = (body: object): request.Test => open.http().post('/v1/container/').set(...auth(token)).send(body).expect(201);
    expect((await post({ container_args: ['true'], ttl: 0 })).body.expires_at).toBeNull();
    expect((await post({ container_args: ['true'] })).body.expires_at).toBeNull();
    expectLifetime((await post({ container_args: ['true'], ttl: 10 * 365 * 24 * 3600 })).body, 10 * 365 * 24 * 3600);
  });
});

describe('configuration', () => {
  const config = (env: Record<string, string>): ReturnType<typeof loadApiConfig> => loadApiConfig({ SATELLITE_SECRET: 'x'.repeat(32), ...env }, { isRoot: false });

  test('defaults: a week for one-shot containers, at most 30 days asked, a sweep every 30 s', () => {
    expect(config({}).containers.lifetime).toEqual({ defaultOneShotSeconds: 7 * 24 * 3600, maxSeconds: 30 * 24 * 3600, reapIntervalMs: 30000 });
    expect(config({ BOATLOAD_CONTAINER_TTL_SECONDS: '0', BOATLOAD_CONTAINER_TTL_MAX_SECONDS: '0' }).containers.lifetime).toMatchObject({ defaultOneShotSeconds: null, maxSeconds: null });
  });

  test('a default over the maximum, no default under a maximum, or a bad number fail naming the variable', () => {
    expect(() => config({ BOATLOAD_CONTAINER_TTL_SECONDS: '100', BOATLOAD_CONTAINER_TTL_MAX_SECONDS: '50' })).toThrow(/BOATLOAD_CONTAINER_TTL_SECONDS \(100\) must be from 1 to BOATLOAD_CONTAINER_TTL_MAX_SECONDS \(50\)/);
    expect(() => config({ BOATLOAD_CONTAINER_TTL_SECONDS: '0' })).toThrow(/BOATLOAD_CONTAINER_TTL_SECONDS \(0 \(no lifetime\)\)/);
    expect(() => config({ BOATLOAD_CONTAINER_TTL_SECONDS: '1d' })).toThrow(ConfigError);
    expect(() => config({ BOATLOAD_CONTAINER_TTL_MAX_SECONDS: '-1' })).toThrow(/BOATLOAD_CONTAINER_TTL_MAX_SECONDS/);
    expect(() => config({ BOATLOAD_CONTAINER_REAP_INTERVAL_MS: '10' })).toThrow(/BOATLOAD_CONTAINER_REAP_INTERVAL_MS must be a whole number >= 100/);
  });
});
