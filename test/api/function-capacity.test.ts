/**
 * A function's own warm capacity on a real engine (no shared warm pool here, so every warm
 * invocation comes from the function's members): it warms to min_warm at definition, a warm
 * invocation answers cold: false, capacity grows to max_warm after an invocation and falls back to
 * min_warm (zero: no member at all) after idle_timeout; GET shows capacity and the last
 * invocations; deleting the function removes its members.
 */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { LABELS } from '../../common/labels';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const engineAgent = new Agent({ keepAlive: false });
const docker = new Docker({ agent: engineAgent } as Docker.DockerOptions);
let system: TestSystem;
let alice: string;

beforeAll(async () => {
  system = await startSystem({});
  alice = await system.token('alice');
}, 60_000);

afterAll(async () => {
  await system.close();
  engineAgent.destroy();
});

const auth = (token: string): [string, string] => ['Authorization', `JWT ${token}`];
const SCRIPT = b64('#!/bin/sh\necho "hi $1"\n');

const ipv4 = (address: string): number => address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
function inSubnet(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(base) / size);
}

async function members(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${system.api.instanceId}`, LABELS.warmPool] } });
  return list.map((c) => c.Names[0].replace(/^\//, ''));
}

async function capacity(name: string): Promise<Record<string, unknown>> {
  return (await system.http().get(`/v1/functions/${name}`).set(...auth(alice)).expect(200)).body.capacity;
}

async function invoke(name: string, args: string[] = []): Promise<Record<string, unknown>> {
  return (await system.http().post(`/v1/functions/${name}/invoke`).set(...auth(alice)).send({ args }).expect(200)).body;
}

test('a function warms to min_warm, is invoked warm (cold: false), refills, and its members go with it', async () => {
  const created = await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'kept', script: SCRIPT, network: 'none', min_warm: 2, max_warm: 2 }).expect(201);
  expect(created.body.capacity).toMatchObject({ target: 2, in_flight: 0 });
  await eventually(async () => ((await capacity('kept')).warm === 2 ? true : undefined), 30_000, 'two warm members');
  expect(await capacity('kept')).toEqual({ state: 'warm', warm: 2, warming: 0, target: 2, in_flight: 0 });
  expect(await members()).toHaveLength(2);

  expect(await invoke('kept', ['warm'])).toMatchObject({ exit_code: 0, stdout: 'hi warm\n', cold: false, timed_out: false });
  // The member taken is replaced: two wait again, and the one that ran is gone.
  await eventually(async () => ((await capacity('kept')).warm === 2 && (await members()).length === 2 ? true : undefined), 30_000, 'the refill');
  const got = (await system.http().get('/v1/functions/kept').set(...auth(alice)).expect(200)).body;
  expect(got.last_invocations).toEqual([{ at: expect.any(String), status: 'ok', duration_ms: expect.any(Number), cold: false }]);

  await system.http().delete('/v1/functions/kept').set(...auth(alice)).expect(204);
  await eventually(async () => ((await members()).length === 0 ? true : undefined), 20_000, 'the members to go');
}, 90_000);

test('with min_warm 0 capacity grows after an invocation and falls to zero after idle_timeout', async () => {
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'bursty', script: SCRIPT, network: 'none', min_warm: 0, max_warm: 1, idle_timeout: 6 }).expect(201);
  expect(await capacity('bursty')).toEqual({ state: 'cold', warm: 0, warming: 0, target: 0, in_flight: 0 });
  expect(await members()).toHaveLength(0);

  expect(await invoke('bursty', ['first'])).toMatchObject({ stdout: 'hi first\n', cold: true });
  await eventually(async () => ((await capacity('bursty')).warm === 1 ? true : undefined), 30_000, 'a warm member after the invocation');
  expect(await invoke('bursty', ['second'])).toMatchObject({ stdout: 'hi second\n', cold: false });

  // No invocation for idle_timeout: no member at all.
  await eventually(async () => ((await capacity('bursty')).target === 0 ? true : undefined), 30_000, 'the scale to zero');
  await eventually(async () => ((await members()).length === 0 ? true : undefined), 20_000, 'the members to go');
  expect(await capacity('bursty')).toEqual({ state: 'cold', warm: 0, warming: 0, target: 0, in_flight: 0 });
  const notes = (await system.http().get('/v1/functions/bursty').set(...auth(alice)).expect(200)).body.last_invocations;
  expect(notes.map((n: { cold: boolean }) => n.cold)).toEqual([false, true]);
}, 90_000);

test('min_warm for a function that cannot run warm is a 400 naming it; without it, it runs cold and keeps none', async () => {
  // A command function has no script to stage into a waiting member.
  const refused = await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'commanded', cmd: ['echo', 'hi'], network: 'private', min_warm: 1 }).expect(400);
  expect(refused.body).toHaveProperty('min_warm');
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'commanded', cmd: ['echo', 'hi'], network: 'private' }).expect(201);
  expect(await invoke('commanded')).toMatchObject({ stdout: 'hi\n', cold: true });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await capacity('commanded')).toEqual({ state: 'cold', warm: 0, warming: 0, target: 0, in_flight: 0 });
  expect(await members()).toHaveLength(0);
  expect(await invoke('commanded')).toMatchObject({ stdout: 'hi\n', cold: true });
}, 60_000);

test('a private function keeps members on the holding network, and a warm invocation runs on its owner\'s network', async () => {
  const script = b64('#!/bin/sh\nip -o -4 addr show | grep -v " lo " | awk \'{print $4}\'\n');
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'networked', script, network: 'private', min_warm: 1, max_warm: 1 }).expect(201);
  await eventually(async () => ((await capacity('networked')).warm === 1 ? true : undefined), 30_000, 'a warm member');
  const [waiting] = await members();
  const networks = Object.keys((await docker.getContainer(waiting).inspect()).NetworkSettings.Networks);
  expect(networks).toEqual([expect.stringMatching(/^boatload-hold-/)]);
  const holding = String((await docker.getNetwork(networks[0]).inspect()).IPAM?.Config?.[0]?.Subnet);
  // One interface besides lo, the owner's network joined at the take, none on the holding network.
  const ran = await invoke('networked');
  expect(ran).toMatchObject({ exit_code: 0, cold: false });
  const addresses = String(ran.stdout).trim().split('\n');
  expect(addresses).toHaveLength(1);
  expect(addresses[0]).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
  expect(inSubnet(addresses[0].split('/')[0], holding)).toBe(false);
  await system.http().delete('/v1/functions/networked').set(...auth(alice)).expect(204);
  await eventually(async () => ((await members()).length === 0 ? true : undefined), 20_000, 'the members to go');
}, 60_000);

test('an API restart leaves none of the old members and warms every function to its min_warm again', async () => {
  await system.http().post('/v1/functions').set(...auth(alice)).send({ name: 'lasting', script: SCRIPT, network: 'none', min_warm: 2, max_warm: 2 }).expect(201);
  await eventually(async () => ((await capacity('lasting')).warm === 2 ? true : undefined), 30_000, 'two warm members');
  const before = await members();
  await system.restartApi();
  alice = await system.token('alice');
  await eventually(async () => ((await capacity('lasting')).warm === 2 ? true : undefined), 30_000, 'two warm members after the restart');
  await eventually(async () => ((await members()).length === 2 ? true : undefined), 20_000, 'exactly two members on the engine');
  expect((await members()).filter((name) => before.includes(name))).toEqual([]);
  expect(await invoke('lasting', ['again'])).toMatchObject({ stdout: 'hi again\n', cold: false });
  await system.http().delete('/v1/functions/lasting').set(...auth(alice)).expect(204);
  await eventually(async () => ((await members()).length === 0 ? true : undefined), 20_000, 'the members to go');
}, 120_000);
