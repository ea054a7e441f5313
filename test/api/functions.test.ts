/**
 * Functions on a real engine: define, read, delete, invoke inline and asynchronously (an
 * operation), warm from the pool or cold, the concurrency limit (429 with Retry-After), the timeout
 * (the whole process tree goes, timed_out: true), bad fields (400 naming them) and ownership (404).
 */
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let alice: string;
let bob: string;

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_WARM_POOL: 'boatload/base:latest;network=none=1' });
  alice = await system.token('alice');
  bob = await system.token('bob');
}, 60_000);

afterAll(async () => {
  await system.close();
});

const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];
const poolFull = (): Promise<true> => eventually(async () => (system.api.warm?.status()[0].idle === 1 ? true : undefined), 30_000, 'a full pool');

async function define(token: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await system.http().post('/v1/functions').set(...auth(token)).send(body).expect(201)).body;
}

test('a function is defined, read and invoked inline: arguments and variables reach it, its container goes', async () => {
  const script = b64('#!/bin/sh\necho "hello $1 from $WHO"\necho "to stderr" >&2\nexit 4\n');
  const fn = await define(alice, { name: 'hello', script, env: { WHO: 'the definition' }, timeout: 20, network: 'none' });
  expect(fn).toMatchObject({ name: 'hello', owner: 'alice', image_name: 'boatload/base', image_tag: 'latest', has_script: true, timeout: 20, max_concurrency: 4 });
  await poolFull();
  const res = await system.http().post('/v1/functions/hello/invoke').set(...auth(alice)).send({ args: ['world'], env: { WHO: 'the invocation' } }).expect(200);
  expect(res.body).toMatchObject({ exit_code: 4, stdout: 'hello world from the invocation\n', stderr: 'to stderr\n', cold: false, timed_out: false });
  expect(res.body.duration_ms).toEqual(expect.any(Number));
  // Limits that no pool class has: a cold run, with the same answer.
  await define(alice, { name: 'hello-cold', script, env: { WHO: 'x' }, memory: 256 * 1024 * 1024 });
  const cold = await system.http().post('/v1/functions/hello-cold/invoke').set(...auth(alice)).send({ args: ['there'] }).expect(200);
  expect(cold.body).toMatchObject({ exit_code: 4, stdout: 'hello there from x\n', cold: true, timed_out: false });
  // Each invocation's container is removed just after it answers.
  await eventually(async () => ((await system.http().get('/v1/container/').set(...auth(alice)).expect(200)).body.length === 0 ? true : undefined), 20_000, 'the containers to go');
  const got = await system.http().get('/v1/functions/hello').set(...auth(alice)).expect(200);
  expect(got.body.last_invocations).toEqual([expect.objectContaining({ status: 'failed', cold: false })]);
  expect(got.body.capacity).toMatchObject({ in_flight: 0 });
}, 60_000);

test('stdin (base64) reaches the script, warm and cold, byte for byte; without it stdin is empty', async () => {
  const script = b64('#!/bin/sh\nbase64\necho "[$1]"\n');
  await define(alice, { name: 'reader', script, network: 'none' });
  await define(alice, { name: 'reader-cold', script, network: 'none', memory: 256 * 1024 * 1024 });
  const data = Buffer.from([0x68, 0x69, 0x0a, 0x00, 0xff, 0x27]);
  const expected = `${data.toString('base64')}\n[x]\n`;
  await poolFull();
  const warm = await system.http().post('/v1/functions/reader/invoke').set(...auth(alice)).send({ args: ['x'], stdin: data.toString('base64') }).expect(200);
  expect(warm.body).toMatchObject({ exit_code: 0, stdout: expected, cold: false });
  const cold = await system.http().post('/v1/functions/reader-cold/invoke').set(...auth(alice)).send({ args: ['x'], stdin: data.toString('base64') }).expect(200);
  expect(cold.body).toMatchObject({ exit_code: 0, stdout: expected, cold: true });
  // No stdin: an empty one (the script does not wait for input).
  const none = await system.http().post('/v1/functions/reader-cold/invoke').set(...auth(alice)).send({ args: ['y'] }).expect(200);
  expect(none.body).toMatchObject({ exit_code: 0, stdout: '[y]\n' });
  expect((await system.http().post('/v1/functions/reader/invoke').set(...auth(alice)).send({ stdin: 'not base64!' }).expect(400)).body).toHaveProperty('stdin');
  // The cap is on the bytes (stored with the run): one byte over 1 MiB is refused, though its base64 is no longer than 1 MiB's.
  const over = Buffer.alloc(1024 * 1024 + 1, 1).toString('base64');
  expect((await system.http().post('/v1/functions/reader/invoke').set(...auth(alice)).send({ stdin: over }).expect(400)).body).toEqual({ stdin: ['At most 1 MiB of standard input.'] });
}, 60_000);

test('a command function, invoked asynchronously, answers 202 and an operation with the result', async () => {
  await define(alice, { name: 'echo', cmd: ['echo', 'from', 'cmd'] });
  const res = await system.http().post('/v1/functions/echo/invoke?async=true').set(...auth(alice)).send({ args: ['and args'] }).expect(202);
  expect(res.body).toMatchObject({ kind: 'invoke', target: '/v1/functions/echo' });
  const done = await eventually(async () => {
    const op = await system.http().get(`/v1/operations/${res.body.id}`).set(...auth(alice)).expect(200);
    return op.body.operation.status === 'succeeded' ? op.body.operation : undefined;
  }, 30_000, 'the operation');
  expect(done.result).toMatchObject({ exit_code: 0, stdout: 'from cmd and args\n', timed_out: false });
}, 60_000);

test('over max_concurrency an invocation is a 429 with Retry-After', async () => {
  await define(alice, { name: 'slow', script: b64('#!/bin/sh\nsleep 3\necho done\n'), max_concurrency: 1 });
  const first = await system.http().post('/v1/functions/slow/invoke?async=true').set(...auth(alice)).send({}).expect(202);
  const refused = await system.http().post('/v1/functions/slow/invoke').set(...auth(alice)).send({}).expect(429);
  expect(refused.headers['retry-after']).toBe('1');
  expect(refused.body.detail).toMatch(/max_concurrency/);
  await eventually(async () => {
    const op = await system.http().get(`/v1/operations/${first.body.id}`).set(...auth(alice)).expect(200);
    return op.body.operation.status === 'succeeded' ? true : undefined;
  }, 30_000, 'the first invocation');
  await system.http().post('/v1/functions/slow/invoke').set(...auth(alice)).send({}).expect(200);
}, 60_000);

test('past its timeout an invocation is killed with its whole process tree and answers timed_out', async () => {
  await define(alice, { name: 'stuck', script: b64('#!/bin/sh\necho started\nsleep 300 &\nsleep 300\n'), timeout: 1 });
  const started = Date.now();
  const res = await system.http().post('/v1/functions/stuck/invoke').set(...auth(alice)).send({}).expect(200);
  expect(res.body).toMatchObject({ timed_out: true, exit_code: null, stdout: 'started\n' });
  expect(Date.now() - started).toBeLessThan(20_000);
  // Each invocation's container is removed just after it answers.
  await eventually(async () => ((await system.http().get('/v1/container/').set(...auth(alice)).expect(200)).body.length === 0 ? true : undefined), 20_000, 'the containers to go');
}, 60_000);

test('a warm invocation is answered from its member\'s report: the script runs as the member shell\'s child, a cold one as PID 1 (documented)', async () => {
  const script = b64('#!/bin/sh\necho "pid $$"\nexit 2\n');
  await define(alice, { name: 'whoami', script, network: 'none' });
  await define(alice, { name: 'whoami-cold', script, network: 'none', memory: 256 * 1024 * 1024 });
  await poolFull();
  const warm = await system.http().post('/v1/functions/whoami/invoke').set(...auth(alice)).send({}).expect(200);
  expect(warm.body).toMatchObject({ exit_code: 2, stderr: '', cold: false, timed_out: false });
  expect(warm.body.stdout).toMatch(/^pid \d+\n$/);
  expect(warm.body.stdout).not.toBe('pid 1\n');
  const cold = await system.http().post('/v1/functions/whoami-cold/invoke').set(...auth(alice)).send({}).expect(200);
  expect(cold.body).toMatchObject({ exit_code: 2, stdout: 'pid 1\n', stderr: '', cold: true });
}, 60_000);

test('a warm invocation past its timeout answers timed_out with its output so far, and its container goes', async () => {
  // The deadline counts from the invocation's arrival, the take included: 6 s leaves a loaded engine
  // time to start the script (3 s once did not, and the output so far was empty).
  await define(alice, { name: 'stuck-warm', script: b64('#!/bin/sh\necho started\nsleep 300 &\nsleep 300\n'), timeout: 6, network: 'none' });
  await poolFull();
  const res = await system.http().post('/v1/functions/stuck-warm/invoke').set(...auth(alice)).send({}).expect(200);
  expect(res.body).toMatchObject({ timed_out: true, exit_code: null, stdout: 'started\n', cold: false });
  await eventually(async () => ((await system.http().get('/v1/container/').set(...auth(alice)).expect(200)).body.length === 0 ? true : undefined), 20_000, 'the containers to go');
}, 60_000);

test('a script the engine cannot start answers at once with the reason, not at its timeout', async () => {
  // Limits no pool class has: a cold container, whose start the engine refuses (no such interpreter).
  await define(alice, { name: 'broken', script: b64('#!/no/such/interpreter\necho never\n'), memory: 256 * 1024 * 1024, timeout: 60 });
  const started = Date.now();
  const res = await system.http().post('/v1/functions/broken/invoke').set(...auth(alice)).send({}).expect(200);
  expect(res.body).toMatchObject({ timed_out: false, stdout: '', cold: true });
  expect(res.body.exit_code).not.toBe(0);
  expect(res.body.stderr).toMatch(/no such file|interpreter|exec/i);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);

test('bad fields are 400s naming them; a second function of the same name is a 409', async () => {
  const post = (body: Record<string, unknown>) => system.http().post('/v1/functions').set(...auth(alice)).send(body);
  expect((await post({ name: 'a b', cmd: ['true'] }).expect(400)).body).toHaveProperty('name');
  expect((await post({ name: 'x', cmd: ['true'], timeout: 0 }).expect(400)).body).toHaveProperty('timeout');
  expect((await post({ name: 'x', cmd: ['true'], script: b64('#!/bin/sh\n') }).expect(400)).body).toHaveProperty('script');
  expect((await post({ name: 'x', script: 'not base64!' }).expect(400)).body).toHaveProperty('script');
  expect((await post({ name: 'x', cmd: ['true'], min_warm: 3, max_warm: 1 }).expect(400)).body).toHaveProperty('max_warm');
  expect((await post({ name: 'x', cmd: ['true'], memory: 1 }).expect(400)).body).toHaveProperty('memory');
  expect((await post({ name: 'x', cmd: ['true'], surprise: 1 }).expect(400)).body).toBeDefined();
  await post({ name: 'twice', cmd: ['true'] }).expect(201);
  await post({ name: 'twice', cmd: ['true'] }).expect(409);
  const invoke = (body: Record<string, unknown>) => system.http().post('/v1/functions/twice/invoke').set(...auth(alice)).send(body);
  expect((await invoke({ args: 'not a list' }).expect(400)).body).toHaveProperty('args');
  expect((await invoke({ stdin: b64('data') }).expect(400)).body).toHaveProperty('stdin');
  await system.http().post('/v1/functions/nope/invoke').set(...auth(alice)).send({}).expect(404);
});

test("someone else's function is a 404 for every route", async () => {
  await define(alice, { name: 'private', cmd: ['true'] });
  await system.http().get('/v1/functions/private').set(...auth(bob)).expect(404);
  await system.http().post('/v1/functions/private/invoke').set(...auth(bob)).send({}).expect(404);
  await system.http().delete('/v1/functions/private').set(...auth(bob)).expect(404);
  expect((await system.http().get('/v1/functions').set(...auth(bob)).expect(200)).body).toEqual([]);
  await system.http().delete('/v1/functions/private').set(...auth(alice)).expect(204);
  await system.http().get('/v1/functions/private').set(...auth(alice)).expect(404);
});
