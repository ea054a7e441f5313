/**
 * `reuse: true` functions on a real engine: one container serves the invocations, one at a time
 * (never two at once, even when they arrive together), keeping what earlier invocations left; the
 * first is cold, the next warm; stdin reaches the script; a timed-out invocation's container is
 * replaced; with min_warm 0 the container goes after idle_timeout.
 */
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let alice: string;

beforeAll(async () => {
  system = await startSystem({});
  alice = await system.token('alice');
}, 60_000);

afterAll(async () => {
  await system.close();
});

const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];
const containers = async (): Promise<string[]> => (await system.http().get('/v1/container/').set(...auth(alice)).expect(200)).body.map((c: { id: string }) => c.id);
const invoke = async (name: string, body: Record<string, unknown>): Promise<Record<string, unknown>> =>
  (await system.http().post(`/v1/functions/${name}/invoke`).set(...auth(alice)).send(body).expect(200)).body;

// Counts its calls in the container, says whether another call was inside at the same time.
const COUNTER = b64(
  ['#!/bin/sh', '[ -e /tmp/busy ] && echo overlap', 'touch /tmp/busy', 'n=$(( $(cat /tmp/n 2>/dev/null || echo 0) + 1 ))', 'echo $n > /tmp/n', 'sleep 0.3', 'rm /tmp/busy', 'echo "call $n on $(hostname) with $1 and $(cat)"', ''].join('\n'),
);

test('one container serves the invocations one at a time; the first is cold; stdin reaches the script', async () => {
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'counter', script: COUNTER, reuse: true, network: 'none', max_concurrency: 8 }).expect(201);
  const first = await invoke('counter', { args: ['a'], stdin: b64('input one') });
  expect(first).toMatchObject({ exit_code: 0, cold: true, timed_out: false });
  const host = /^call 1 on (\S+) with a and input one\n$/.exec(first.stdout as string)?.[1];
  expect(host).toBeDefined();
  expect(await invoke('counter', { args: ['b'] })).toMatchObject({ exit_code: 0, cold: false, stdout: `call 2 on ${host} with b and \n` });
  const got = (await system.http().get('/v1/functions/counter').set(...auth(alice)).expect(200)).body;
  expect(got).toMatchObject({ reuse: true, capacity: { state: 'warm', warm: 1, in_flight: 0 } });

  // Five at once: each waits its turn in the same container.
  const together = await Promise.all(['c', 'd', 'e', 'f', 'g'].map((arg) => invoke('counter', { args: [arg] })));
  const calls = together.map((r) => {
    expect(r).toMatchObject({ exit_code: 0, cold: false });
    expect(r.stdout).not.toMatch(/overlap/);
    expect(r.stdout).toContain(`on ${host} with`);
    return Number(/^call (\d+)/.exec(r.stdout as string)?.[1]);
  });
  expect(calls.sort()).toEqual([3, 4, 5, 6, 7]);
  expect(await containers()).toHaveLength(1);
  await system.http().delete('/v1/functions/counter').set(...auth(alice)).expect(204);
  expect(await containers()).toHaveLength(0);
}, 90_000);

test('a timed-out invocation has its processes killed and the next one gets a fresh container', async () => {
  const script = b64('#!/bin/sh\nif [ "$1" = hang ]; then sleep 300 & sleep 300; fi\necho "up $(cat /proc/uptime | cut -d" " -f1) on $(hostname)"\n');
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'hanging', script, reuse: true, network: 'none', timeout: 1 }).expect(201);
  const before = await invoke('hanging', { args: ['ok'] });
  const first = (await containers())[0];
  expect(await invoke('hanging', { args: ['hang'] })).toMatchObject({ timed_out: true, exit_code: null, cold: false });
  const after = await invoke('hanging', { args: ['ok'] });
  expect(after).toMatchObject({ timed_out: false, exit_code: 0, cold: true });
  expect(after.stdout).not.toEqual(before.stdout);
  expect(await containers()).not.toContain(first);
  expect(await containers()).toHaveLength(1);
  await system.http().delete('/v1/functions/hanging').set(...auth(alice)).expect(204);
}, 90_000);

test('with min_warm 0 the reused container goes after idle_timeout', async () => {
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'brief', cmd: ['cat'], reuse: true, network: 'none', idle_timeout: 2 }).expect(201);
  expect(await invoke('brief', { stdin: b64('from cmd') })).toMatchObject({ exit_code: 0, stdout: 'from cmd', cold: true });
  expect(await containers()).toHaveLength(1);
  await eventually(async () => ((await containers()).length === 0 ? true : undefined), 20_000, 'the idle container to go');
  const got = (await system.http().get('/v1/functions/brief').set(...auth(alice)).expect(200)).body;
  expect(got.capacity).toEqual({ state: 'cold', warm: 0, warming: 0, target: 0, in_flight: 0 });
}, 60_000);
