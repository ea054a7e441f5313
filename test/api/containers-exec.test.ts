/** Readiness (?wait=ready, GET .../ready) and synchronous exec on a real engine. */
import { b64 } from '../support/system';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let alice: string;
let bob: string;
let admin: string;
let sleeper: string;

beforeAll(async () => {
  system = await startSandboxSystem({ BOATLOAD_EXEC_OUTPUT_MAX_BYTES: '1000', BOATLOAD_EXEC_TIMEOUT_MAX_SECONDS: '30', BOATLOAD_WAIT_READY_MAX_SECONDS: '40' });
  admin = await system.token('admin');
  alice = await system.token('alice');
  bob = await system.token('bob');
  sleeper = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready&timeout=30');
});

afterAll(async () => {
  await system.close();
}, 180000);

const exec = (token: string, id: string, body: unknown) => system.http().post(`/v1/container/${id}/exec`).set(...system.auth(token)).send(body as object);

describe('readiness', () => {
  test('?wait=ready answers once the container is running and exec-able', async () => {
    const res = await system.http().post('/v1/container/?wait=ready&timeout=30').set(...system.auth(alice)).send({ container_args: ['sleep', '60'] }).expect(201);
    expect(res.body.status).toBe('running');
    expect(res.body.readiness).toMatchObject({ status: 'ready', reason: null });
    expect(res.body.readiness.timed_out).toBeUndefined();
  });

  test('?wait=ready answers with the exit when the script ends first', async () => {
    const script = b64('#!/bin/sh\necho bye\nexit 4\n');
    const res = await system.http().post('/v1/container/?wait=ready').set(...system.auth(alice)).send({ script }).expect(201);
    expect(res.body.readiness).toMatchObject({ status: 'exited', exit_code: 4 });
    expect(res.body.status).toBe('exited');
  });

  test('?wait=ready answers with the error when the start fails', async () => {
    const res = await system.http().post('/v1/container/?wait=ready').set(...system.auth(alice)).send({ container_args: ['/no/such/binary'] }).expect(201);
    expect(res.body.readiness.status).toBe('error');
    expect(res.body.readiness.reason).toMatch(/no such file|not found|executable/i);
  });

  test('a bad wait or timeout is a 400 and creates nothing', async () => {
    const before = (await system.http().get('/v1/container/').set(...system.auth(alice))).body.length;
    const bad = await system.http().post('/v1/container/?wait=soon').set(...system.auth(alice)).send({ container_args: ['true'] }).expect(400);
    expect(bad.body).toEqual({ wait: ['The only value is "ready".'] });
    const long = await system.http().post('/v1/container/?wait=ready&timeout=41').set(...system.auth(alice)).send({ container_args: ['true'] }).expect(400);
    expect(long.body.timeout[0]).toMatch(/at most 40/);
    expect((await system.http().get('/v1/container/').set(...system.auth(alice))).body.length).toBe(before);
  });

  test('GET .../ready probes now; ?timeout= waits for it to settle', async () => {
    const res = await system.http().get(`/v1/container/${sleeper}/ready`).set(...system.auth(alice)).expect(200);
    expect(res.body).toMatchObject({ id: sleeper, status: 'running', readiness: { status: 'ready' } });
    const id = await system.create(alice, { script: b64('#!/bin/sh\nsleep 1\n') });
    const settled = await system.http().get(`/v1/container/${id}/ready?timeout=20`).set(...system.auth(alice)).expect(200);
    // Either it was caught running (ready) or it had already finished: never "starting".
    expect(['ready', 'exited']).toContain(settled.body.readiness.status);
  });
});

describe('exec', () => {
  test('answers exit code, stdout, stderr and duration', async () => {
    const res = await exec(alice, sleeper, { cmd: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'] }).expect(200);
    expect(res.body).toMatchObject({ exit_code: 3, stdout: 'out\n', stderr: 'err\n', truncated: false, timed_out: false });
    expect(res.body.duration_ms).toEqual(expect.any(Number));
  });

  test('env, workdir and user apply', async () => {
    const res = await exec(alice, sleeper, { cmd: ['/bin/sh', '-c', 'echo "$GREETING $(pwd) $(id -u)"'], env: { GREETING: 'hi' }, workdir: '/tmp', user: '65534' }).expect(200);
    expect(res.body).toMatchObject({ exit_code: 0, stdout: 'hi /tmp 65534\n' });
  });

  test('output over the cap is truncated and says so; the command still runs to its end', async () => {
    const res = await exec(alice, sleeper, { cmd: ['/bin/sh', '-c', 'yes | head -c 100000; echo done >&2'] }).expect(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.stdout.length).toBe(1000);
    expect(res.body.stderr).toBe('done\n');
    expect(res.body.exit_code).toBe(0);
  });

  test('the timeout kills the command and its children, and says so', async () => {
    const started = Date.now();
    const res = await exec(alice, sleeper, { cmd: ['/bin/sh', '-c', 'echo started; sleep 300 & sleep 300; echo never'], timeout: 1 }).expect(200);
    expect(Date.now() - started).toBeLessThan(15000);
    expect(res.body).toMatchObject({ timed_out: true, stdout: 'started\n' });
    expect(res.body.exit_code).not.toBe(0);
    // Nothing of it is left running (killed processes may linger only as zombies).
    const ps = await exec(alice, sleeper, { cmd: ['/bin/sh', '-c', 'for p in /proc/[0-9]*; do s=$(sed -n "s/^State:.\\(.\\).*/\\1/p" $p/status 2>/dev/null); c=$(cat $p/cmdline 2>/dev/null | tr "\\000" " "); [ "$s" != Z ] && echo "$c"; done'] }).expect(200);
    expect(ps.body.stdout).not.toMatch(/sleep 300/);
  });

  test('a command that cannot start exits 126 with the reason on stderr', async () => {
    const res = await exec(alice, sleeper, { cmd: ['/no/such/command'] }).expect(200);
    expect(res.body).toMatchObject({ exit_code: 126, stdout: '' });
    expect(res.body.stderr).toMatch(/no such file or directory/);
  });

  test('bad bodies are 400s naming the field', async () => {
    expect((await exec(alice, sleeper, {}).expect(400)).body).toEqual({ cmd: ['This field is required.'] });
    expect((await exec(alice, sleeper, { cmd: [] }).expect(400)).body.cmd).toBeDefined();
    expect((await exec(alice, sleeper, { cmd: 'ls' }).expect(400)).body.cmd).toBeDefined();
    expect((await exec(alice, sleeper, { cmd: ['ls'], timeout: 31 }).expect(400)).body.timeout[0]).toMatch(/At most 30/);
    expect((await exec(alice, sleeper, { cmd: ['ls'], workdir: 'tmp' }).expect(400)).body.workdir).toBeDefined();
    expect((await exec(alice, sleeper, { cmd: ['ls'], env: { BOATLOAD_EXEC_ID: 'x' } }).expect(400)).body.env).toBeDefined();
    expect((await exec(alice, sleeper, { cmd: ['ls'], shell: true }).expect(400)).body).toEqual({ shell: ['Unknown field.'] });
  });

  test('a container that is not running is a 409', async () => {
    const id = await system.create(alice, { script: b64('#!/bin/sh\nexit 0\n') }, 'wait=ready');
    const res = await exec(alice, id, { cmd: ['true'] }).expect(409);
    expect(res.body.detail).toMatch(/not running/);
  });
});

describe('ownership', () => {
  test("someone else's container is a 404 for exec and ready; an admin may use it", async () => {
    await exec(bob, sleeper, { cmd: ['true'] }).expect(404);
    await system.http().get(`/v1/container/${sleeper}/ready`).set(...system.auth(bob)).expect(404);
    await exec(admin, sleeper, { cmd: ['true'] }).expect(200);
    await exec(alice, '0'.repeat(32), { cmd: ['true'] }).expect(404);
  });

  test('without auth it is a 401', async () => {
    await system.http().post(`/v1/container/${sleeper}/exec`).send({ cmd: ['true'] }).expect(401);
  });
});
