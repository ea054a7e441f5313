/**
 * The warm pool on a real engine (BOATLOAD_WARM_POOL): a script run that fits takes a pooled,
 * already started container; what it reads back (output, exit, state, changes, files, archive, its
 * arguments and variables) is what the same run gives cold; a member serves one run only; the pool
 * refills, and shrinks while memory is short; an API restart leaves no idle member behind; pooled
 * containers belong to nobody.
 */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { loadApiConfig } from '../../api/config';
import { LABELS } from '../../common/labels';
import { silentLogger } from '../../common/logger';
import { WarmPool, type WarmAgent } from '../../units/scheduler/warm-pool';
import { SwitchedLeadership } from '../../units/scheduler/leadership';
import { emptySpec } from '../../common/container-spec';
import { randomBytes } from 'node:crypto';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const POOL_SIZE = 2;
const engineAgent = new Agent({ keepAlive: false });
const docker = new Docker({ agent: engineAgent } as Docker.DockerOptions);
let system: TestSystem;
let alice: string;

// Prints its arguments and variables, writes files, reads its own directory, exits 3.
const SCRIPT = [
  '#!/bin/sh',
  'for a in "$@"; do printf "arg[%s]\\n" "$a"; done',
  'env | grep -v "^HOSTNAME=" | sort',
  'echo "pid $$"',
  'ls -a /boatload',
  'ls /proc/self/fd',
  'mkdir -p /out && echo result > /out/r.txt',
  'echo oops >&2',
  'exit 3',
  '',
].join('\n');
const ARGS = ['two words', "it's", 'line\nbreak', '$HOME', ''];
const ENV = { GREETING: "hello 'quoted' $world", PWD: '/custom', SHLVL: '7' };

beforeAll(async () => {
  // Members without a network: containers otherwise join their owner's network, which a member cannot.
  system = await startSystem({ BOATLOAD_WARM_POOL: `boatload/base:latest;network=none=${POOL_SIZE}` });
  alice = await system.token('alice');
}, 60_000);

afterAll(async () => {
  await system.close();
  engineAgent.destroy();
});

const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];
const idleCount = (): number => system.api.warm?.status().reduce((sum, p) => sum + p.idle, 0) ?? -1;
const poolFull = (): Promise<true> => eventually(async () => (idleCount() === POOL_SIZE ? true : undefined), 30_000, 'a full pool');

/** The pool's members no unit uses (idle ones). */
async function idleMembers(): Promise<string[]> {
  const idle: string[] = [];
  for (const name of await poolMembers()) if ((await system.api.scheduler.unitUsingEngineName(name, '')) === undefined) idle.push(name);
  return idle;
}

/** The system's satellite as a pool's agent, but for `faults` (each test says what it injects). */
function satelliteAgentWith(faults: Partial<WarmAgent>): WarmAgent {
  const satellite = system.api.satellite;
  return {
    createWarm: (request) => satellite.createWarm(request),
    takeWarm: (name, request) => satellite.takeWarm(name, request),
    list: (labels) => satellite.list(labels),
    remove: (name) => satellite.remove(name),
    hostMemory: () => satellite.hostMemory(),
    ...faults,
  };
}

async function poolMembers(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${system.api.instanceId}`, LABELS.warmPool] } });
  return list.map((c) => c.Names[0].replace(/^\//, '')).sort();
}

async function run(body: Record<string, unknown>): Promise<string> {
  const res = await system.http().post('/v1/container/').set(...auth(alice)).send(body).expect(201);
  const id = res.body.id as string;
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${id}/state`).set(...auth(alice)).expect(200);
    return state.body.docker_state.Status === 'exited' ? true : undefined;
  }, 30_000, `container ${id} to exit`);
  return id;
}

async function reads(id: string): Promise<Record<string, unknown>> {
  const get = (path: string) => system.http().get(`/v1/container/${id}/${path}`).set(...auth(alice)).expect(200);
  const state = (await get('state')).body;
  const archive = await system.http().get(`/v1/container/${id}/archive`).set(...auth(alice)).buffer(true).expect(200);
  return {
    stdout: (await get('stdout?stream=stdout')).text,
    stderr: (await get('stdout?stream=stderr')).text,
    status: state.status,
    fleet: state.fleet_state.activeState + '/' + state.fleet_state.subState,
    exit: state.docker_state.ExitCode,
    changes: (await get('changes')).body,
    files: (await get('file')).body,
    file: (await get('file/out/r.txt')).text,
    archiveBytes: archive.body.length,
    script: (await get('script')).text,
  };
}

test('a warm run reads back exactly what the same run gives cold', async () => {
  await poolFull();
  const request = { script: b64(SCRIPT), container_args: ARGS, env: ENV, network: 'none' };
  const warmId = await run(request);
  // The default limits are the pool's class; another memory limit does not fit it: a cold run.
  const coldId = await run({ ...request, memory: 256 * 1024 * 1024 });
  const warm = await docker.getContainer(`boatload-${warmId}`).inspect();
  const cold = await docker.getContainer(`boatload-${coldId}`).inspect();
  expect(warm.Config.Labels[LABELS.warmPool]).toBeDefined();
  expect(cold.Config.Labels[LABELS.warmPool]).toBeUndefined();
  const warmReads = await reads(warmId);
  const coldReads = await reads(coldId);
  expect(warmReads).toEqual(coldReads);
  expect(warmReads.exit).toBe(3);
  expect(warmReads.stderr).toBe('oops\n');
  // Arguments and variables reach the script exactly; the waiter left nothing behind.
  const stdout = warmReads.stdout as string;
  expect(stdout).toContain("arg[two words]\narg[it's]\narg[line\nbreak]\narg[$HOME]\narg[]\n");
  expect(stdout).toContain(`GREETING=hello 'quoted' $world\n`);
  // The script's own sh counts SHLVL up from the asked value, cold and warm alike.
  expect(stdout).toContain('SHLVL=8\n');
  expect(stdout).toContain('pid 1\n');
  expect(stdout).toContain('.\n..\nscript\n');
  // Same limits as a cold run of the pool's class.
  expect(warm.HostConfig.Memory).toBe(system.config.containers.memoryBytes);
  expect(warm.HostConfig.NanoCpus).toBe(system.config.containers.nanoCpus);
  expect(warm.HostConfig.PidsLimit).toBe(system.config.containers.pidsLimit);
  expect(warm.HostConfig.NetworkMode).toBe(cold.HostConfig.NetworkMode);
}, 60_000);

test('a run without variables of its own sees only what a cold run sees', async () => {
  await poolFull();
  const script = b64('#!/bin/sh\nenv | grep -v "^HOSTNAME=" | sort\n');
  const stdout = async (id: string): Promise<string> => (await system.http().get(`/v1/container/${id}/stdout`).set(...auth(alice)).expect(200)).text;
  const warmId = await run({ script, network: 'none' });
  expect((await docker.getContainer(`boatload-${warmId}`).inspect()).Config.Labels[LABELS.warmPool]).toBeDefined();
  const warm = { stdout: await stdout(warmId) };
  const cold = { stdout: await stdout(await run({ script, network: 'none', pids: 100 })) };
  expect(warm.stdout).toBe(cold.stdout);
  // The waiter's sh added nothing: the script's own sh sets PWD and SHLVL=1 as it does cold.
  expect(warm.stdout).toContain('SHLVL=1\n');
  expect(warm.stdout).not.toMatch(/^OLDPWD=/m);
}, 60_000);

test('every run gets its own member, never one that ran before; the pool refills', async () => {
  await poolFull();
  const before = await poolMembers();
  const ids: string[] = [];
  for (let i = 0; i < POOL_SIZE + 1; i++) {
    const res = await system.http().post('/v1/container/').set(...auth(alice)).send({ script: b64(`#!/bin/sh\necho run ${i}\n`), network: 'none' }).expect(201);
    ids.push(res.body.id as string);
  }
  expect(new Set(ids).size).toBe(ids.length);
  for (const [i, id] of ids.entries()) {
    await eventually(async () => {
      const res = await system.http().get(`/v1/container/${id}/stdout`).set(...auth(alice)).expect(200);
      return res.text === `run ${i}\n` ? true : undefined;
    }, 30_000, `run ${i}'s output`);
  }
  // Each run that found an idle member has that member's name, which then belongs to its unit.
  const taken = ids.filter((id) => before.includes(`boatload-${id}`));
  expect(taken.length).toBe(POOL_SIZE);
  for (const id of taken) expect((await docker.getContainer(`boatload-${id}`).inspect()).Config.Labels[LABELS.warmPool]).toBeDefined();
  await poolFull();
  const after = await poolMembers();
  const idleNow = after.filter((name) => !ids.some((id) => name === `boatload-${id}`) && !before.includes(name));
  expect(idleNow.length).toBe(POOL_SIZE);
  // A member that ran is deleted with its container, and is never offered again.
  for (const id of ids) await system.http().delete(`/v1/container/${id}/`).set(...auth(alice)).expect(204);
  for (const id of taken) await expect(docker.getContainer(`boatload-${id}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
}, 60_000);

test('pooled containers belong to nobody: they are in no listing and count against no quota', async () => {
  await poolFull();
  const bob = await system.token('bob');
  const list = await system.http().get('/v1/container/').set(...auth(bob)).expect(200);
  expect(list.body).toEqual([]);
  const admin = await system.token('admin');
  const all = await system.http().get('/v1/container/').set(...auth(admin)).expect(200);
  const members = await idleMembers();
  expect(members.length).toBe(POOL_SIZE);
  for (const name of members) expect(all.body.find((c: { id: string }) => `boatload-${c.id}` === name)).toBeUndefined();
});

test('an API restart leaves no idle member behind, and the pool fills again', async () => {
  await poolFull();
  const idleBefore = await idleMembers();
  expect(idleBefore.length).toBe(POOL_SIZE);
  await system.stopApi();
  // What a crash leaves: a member still running that no unit uses (made by hand, as the pool makes them).
  const leftover = `boatload-${'ab'.repeat(16)}`;
  const made = await docker.createContainer({
    name: leftover,
    Image: 'boatload/base:latest',
    Cmd: ['sleep', '3600'],
    Labels: { [LABELS.instance]: system.api.instanceId, [LABELS.warmPool]: 'leftover' },
  });
  await made.start();
  await system.startApi();
  await poolFull();
  await eventually(async () => ((await poolMembers()).includes(leftover) ? undefined : true), 20_000, 'the leftover member to go');
  const idleAfter = await idleMembers();
  expect(idleAfter.length).toBe(POOL_SIZE);
  for (const name of idleBefore) expect(idleAfter).not.toContain(name);
}, 60_000);

test('the pool follows the lead: a replica that does not lead makes and removes nothing, one that loses it removes its idle members, the new leader removes the old one\'s and fills', async () => {
  // Two pools of one installation of their own (not the system's), as two API replicas keep them.
  const instanceLabel = `${LABELS.instance}=test-lead-${randomBytes(4).toString('hex')}`;
  const members = async (): Promise<string[]> =>
    (await docker.listContainers({ all: true, filters: { label: [instanceLabel, LABELS.warmPool] } })).map((c) => c.Names[0].replace(/^\//, '')).sort();
  const [leadsA, leadsB] = [new SwitchedLeadership(), new SwitchedLeadership()];
  leadsA.set(true);
  const poolOf = (leadership: SwitchedLeadership): WarmPool =>
    new WarmPool({ agent: system.api.satellite, classes: [{ image: 'boatload/base:latest', network: 'none', size: 2 }], instanceLabel, isTaken: async () => false, minAvailableBytes: 1024, tickMs: 100, logger: silentLogger, leadership }, {});
  const [a, b] = [poolOf(leadsA), poolOf(leadsB)];
  try {
    await a.start();
    await eventually(async () => (a.status()[0].idle === 2 && (await members()).length === 2 ? true : undefined), 30_000, 'the leader to fill its pool');
    const first = await members();
    // Started while the other leads: the leader's members are in use, not leftovers.
    await b.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await members()).toEqual(first);
    expect(b.status()[0]).toMatchObject({ idle: 0, creating: 0 });
    expect(b.reserve({ ...emptySpec('x', 'boatload/base:latest'), network: 'none' })).toBeNull();
    leadsA.set(false);
    leadsB.set(true);
    await eventually(
      async () => {
        const now = await members();
        return b.status()[0].idle === 2 && now.length === 2 && now.every((name) => !first.includes(name)) ? true : undefined;
      },
      30_000,
      'the new leader to own the only members',
    );
    expect(a.status()[0]).toMatchObject({ idle: 0 });
    // And back: the first replica leads again, with members of its own only.
    const second = await members();
    leadsB.set(false);
    leadsA.set(true);
    await eventually(
      async () => {
        const now = await members();
        return a.status()[0].idle === 2 && b.status()[0].idle === 0 && now.length === 2 && now.every((name) => !second.includes(name) && !first.includes(name)) ? true : undefined;
      },
      30_000,
      'the first replica to own the only members again',
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
    for (const name of await members()) await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  }
}, 90_000);

test('the pool shrinks while host memory is short and fills again when it recovers', async () => {
  let short = false;
  // Fault injection: the real satellite, but for the host memory it reports (a real shortage cannot be made on demand).
  const satellite = system.api.satellite;
  const agent = satelliteAgentWith({ hostMemory: async () => (short ? { availableBytes: 1 } : satellite.hostMemory()) });
  const instanceLabel = `${LABELS.instance}=${system.api.instanceId}`;
  const pool = new WarmPool({ agent, classes: [{ image: 'boatload/base:latest', network: 'none', size: 2 }], instanceLabel, isTaken: async () => true, minAvailableBytes: 1024, tickMs: 100, logger: silentLogger }, {});
  try {
    await pool.start();
    const idle = (): number => pool.status()[0].idle;
    await eventually(async () => (idle() === 2 ? true : undefined), 30_000, 'the pool to fill');
    short = true;
    await eventually(async () => (idle() === 0 ? true : undefined), 10_000, 'the pool to shrink');
    short = false;
    await eventually(async () => (idle() === 2 ? true : undefined), 30_000, 'the pool to fill again');
  } finally {
    await pool.close();
  }
}, 60_000);

test('a host that refuses members is asked again with back-off, not every tick, and filled once it accepts', async () => {
  let refusing = true;
  let asked = 0;
  // Fault injection: the real satellite, but refusing to make members (as one without a script
  // directory answers 503) until the test lets it.
  const satellite = system.api.satellite;
  const agent = satelliteAgentWith({
    createWarm: async (request) => {
      asked++;
      if (refusing) throw new Error('This satellite has no script directory (SATELLITE_SCRIPT_DIR=off): it keeps no warm pool.');
      return satellite.createWarm(request);
    },
  });
  const instanceLabel = `${LABELS.instance}=test-backoff-${randomBytes(4).toString('hex')}`;
  const pool = new WarmPool({ agent, classes: [{ image: 'boatload/base:latest', network: 'none', size: 1 }], instanceLabel, isTaken: async () => true, minAvailableBytes: 1024, tickMs: 100, logger: silentLogger }, {});
  try {
    await pool.start();
    await new Promise((resolve) => setTimeout(resolve, 3500));
    // Tries at 0, 2 s (then 4 s later): not one per 100 ms tick.
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(asked).toBeLessThanOrEqual(3);
    refusing = false;
    await eventually(async () => (pool.status()[0].idle === 1 ? true : undefined), 20_000, 'the pool to fill once the host accepts');
  } finally {
    await pool.close();
  }
}, 60_000);

test('BOATLOAD_WARM_POOL is read per image and class, and refused naming the variable', () => {
  const base = { SATELLITE_SECRET: 'x'.repeat(32) };
  expect(loadApiConfig(base).warmPool.classes).toEqual([]);
  expect(loadApiConfig({ ...base, BOATLOAD_WARM_POOL: 'boatload/base=4, boatload/base:latest;memory=268435456;cpus=0.5;pids=64=2' }).warmPool.classes).toEqual([
    { image: 'boatload/base:latest', size: 4 },
    { image: 'boatload/base:latest', size: 2, memoryBytes: 268435456, nanoCpus: 5e8, pidsLimit: 64 },
  ]);
  for (const bad of ['boatload/base', 'boatload/base=0', 'boatload/base=999', 'boatload/base;disk=1=2', 'boatload/base;cpus=0=2']) {
    expect(() => loadApiConfig({ ...base, BOATLOAD_WARM_POOL: bad })).toThrow(/BOATLOAD_WARM_POOL/);
  }
});

test('the disk watchdog finds a warm run by its name and stops it over its writable-layer quota', async () => {
  await poolFull();
  const dora = await system.token('dora');
  const admin = await system.token('admin');
  await system.http().put('/v1/users/dora/quotas').set(...auth(admin)).send({ container_disk_bytes: 5 * 1024 * 1024 }).expect(200);
  const res = await system.http().post('/v1/container/').set(...auth(dora)).send({ script: b64('#!/bin/sh\ndd if=/dev/zero of=/tmp/big bs=1M count=20 2>/dev/null\ntouch /tmp/written\nsleep 600\n'), network: 'none' }).expect(201);
  const id = res.body.id as string;
  expect((await docker.getContainer(`boatload-${id}`).inspect()).Config.Labels[LABELS.warmPool]).toBeDefined();
  await eventually(async () => (await system.http().get(`/v1/container/${id}/file`).set(...auth(dora)).expect(200)).body.some((f: { path: string }) => f.path === '/tmp/written') || undefined, 30_000, 'the write');
  await system.api.diskWatchdog.check();
  const stopped = (await system.http().get(`/v1/container/${id}/`).set(...auth(dora)).expect(200)).body;
  expect(stopped).toMatchObject({ status: 'error', reason: expect.stringMatching(/^writable layer over its quota of 5242880 bytes/) });
}, 60_000);
