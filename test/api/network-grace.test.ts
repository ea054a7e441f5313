/**
 * Users' networks outlive their last container by a grace period (SATELLITE_NETWORK_GRACE_SECONDS),
 * on the real engine with the real packet filter: a create within the grace joins the same networks
 * (no new network, no rule rebuild), the policy still holds on networks kept through it (a private
 * container on them reaches its user's container but not the "internet" this test routes into a
 * network namespace of its own), and once the grace has passed nothing is left: no network, no
 * rule, no user chain.
 */
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userNetworkName, userNetworkNames, type UserNetworkNames } from '../../common/network-model';
import { ConfigError } from '../../common/env';
import { loadSatelliteConfig } from '../../satellite/config';
import { eventually, startSystem, type TestSystem } from '../support/system';

jest.setTimeout(90_000);

const GRACE_MS = 2500;
const tag = randomBytes(3).toString('hex');
const prefix = `BLG${tag.toUpperCase()}`;
const ns = `ngt-${tag}`;
const vethHost = `ngtv${tag}`;
const vethNs = `ngtn${tag}`;
// TEST-NET-3 stands for the internet; a random address so that a parallel run's route is not ours.
const INTERNET = `203.0.113.${randomInt(2, 250)}`;
const LINK = `10.214.${randomInt(0, 255)}`;
const docker = new Docker();
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const rules = (): string => execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' });
const networkId = async (name: string): Promise<string | null> => docker.getNetwork(name).inspect().then((n: { Id: string }) => n.Id, () => null);

let system: TestSystem;
let webDir = '';
let alice: UserNetworkNames;

beforeAll(async () => {
  ip('netns', 'add', ns);
  ip('link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs);
  ip('link', 'set', vethNs, 'netns', ns);
  ip('addr', 'add', `${LINK}.1/30`, 'dev', vethHost);
  ip('link', 'set', vethHost, 'up');
  ip('-n', ns, 'addr', 'add', `${LINK}.2/30`, 'dev', vethNs);
  ip('-n', ns, 'link', 'set', vethNs, 'up');
  ip('-n', ns, 'route', 'add', 'default', 'via', `${LINK}.1`);
  ip('-n', ns, 'addr', 'add', `${INTERNET}/32`, 'dev', 'lo');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('route', 'replace', `${INTERNET}/32`, 'via', `${LINK}.2`, 'dev', vethHost);
  webDir = mkdtempSync(join(tmpdir(), 'ngt-web-'));
  writeFileSync(join(webDir, 'ok'), 'outside\n');
  execFileSync('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-p', '0.0.0.0:8080', '-h', webDir]);
  system = await startSystem({}, { firewall: { prefix }, networkGraceMs: GRACE_MS });
  const names = userNetworkNames(userNetworkName(system.api.instanceId, 'alice'));
  if (!names) throw new Error('network names');
  alice = names;
});

afterAll(async () => {
  await system?.close();
  try {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
  for (const undo of [['route', 'del', `${INTERNET}/32`], ['link', 'del', vethHost], ['netns', 'del', ns]]) {
    try {
      ip(...undo);
    } catch {
      // already gone
    }
  }
  if (webDir) rmSync(webDir, { recursive: true, force: true });
  expect(rules()).not.toContain(`${prefix}-`);
});

async function create(body: Record<string, unknown>): Promise<string> {
  const token = await system.token('alice');
  const res = await system.http().post('/v1/container/?wait=ready&timeout=30').set('Authorization', `JWT ${token}`).send(body);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function remove(id: string): Promise<void> {
  const token = await system.token('alice');
  await system.http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${token}`).expect(204);
}

/** An HTTP GET by busybox nc from inside the container (through the exec route): the page, or ''. */
async function fetchFrom(id: string, url: string): Promise<string> {
  const token = await system.token('alice');
  const { hostname, port, pathname } = new URL(url);
  const cmd = `printf 'GET ${pathname} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${hostname} ${port} | sed -n '/^\\r*$/,$p' | tail -n 1`;
  const res = await system.http().post(`/v1/container/${id}/exec`).set('Authorization', `JWT ${token}`).send({ cmd: ['/bin/sh', '-c', cmd], timeout: 20 });
  expect(res.status).toBe(200);
  return (res.body.stdout as string).trim();
}

/** Alice's networks, every rule naming their bridges and her user chain are gone. */
async function gone(): Promise<boolean> {
  if ((await networkId(alice.shared)) !== null || (await networkId(alice.egress)) !== null) return false;
  const now = rules();
  return !now.includes(alice.sharedBridge) && !now.includes(alice.egressBridge) && !now.includes(`${prefix}-U`);
}

const webScript = Buffer.from('#!/bin/sh\nmkdir -p /www && echo web > /www/ok && exec httpd -f -p 8080 -h /www\n').toString('base64');

test('a create within the grace joins the same networks; the policy holds on them; after the grace nothing is left', async () => {
  const first = await create({ container_args: ['sleep', '600'], network: 'internet' });
  const shared = await networkId(alice.shared);
  const egress = await networkId(alice.egress);
  expect(shared).not.toBeNull();
  expect(egress).not.toBeNull();
  // The new bridges' rules were added once each (no rebuild of everyone's).
  const lines = rules().split('\n');
  for (const bridge of [alice.sharedBridge, alice.egressBridge]) {
    expect(lines.filter((l) => l === `-A ${prefix}-IN -i ${bridge} -j DROP`)).toHaveLength(1);
    expect(lines.filter((l) => l === `-A ${prefix}-FWD -i ${bridge} -j ${prefix}-U${alice.sharedBridge.slice(4)}`)).toHaveLength(1);
  }
  await remove(first);
  // Kept, with their rules, through the grace period.
  expect(await networkId(alice.shared)).toBe(shared);
  expect(await networkId(alice.egress)).toBe(egress);
  expect(rules()).toContain(`-A ${prefix}-IN -i ${alice.sharedBridge} -j DROP`);

  // The next creates join them: the same networks, no new one.
  const web = await create({ script: webScript, hostname: 'web', network: 'internet', permanent: true });
  const priv = await create({ container_args: ['sleep', '600'], network: 'private' });
  expect(await networkId(alice.shared)).toBe(shared);
  expect(await networkId(alice.egress)).toBe(egress);
  // The policy on networks kept through a grace: the internet for `internet` only, the user's own by name for both.
  expect(await fetchFrom(web, `http://${INTERNET}:8080/ok`)).toBe('outside');
  expect(await fetchFrom(priv, `http://${INTERNET}:8080/ok`)).toBe('');
  expect(await fetchFrom(priv, 'http://web:8080/ok')).toBe('web');

  // The grace runs from the last container, not the first: one delete keeps them.
  await remove(web);
  await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
  expect(await networkId(alice.shared)).toBe(shared);
  await remove(priv);
  // Rules follow networks: the user's bridges and chain go with them (the timer's work, after the grace).
  await eventually(async () => ((await gone()) ? true : undefined), 20_000, 'the networks and their rules removed after the grace');
  const after = rules();
  expect(after).not.toContain(alice.sharedBridge);
  expect(after).not.toContain(alice.egressBridge);
  expect(after).not.toContain(`${prefix}-U`);
});

test('a failed create keeps the networks only for the grace', async () => {
  const token = await system.token('alice');
  const failed = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ image_name: 'boatload/no-such-image', network: 'internet' });
  expect(failed.status).toBe(400);
  expect(await networkId(alice.shared)).not.toBeNull();
  await eventually(async () => ((await gone()) ? true : undefined), 20_000, 'the networks of a failed create and their rules removed after the grace');
});

test('networks removed behind the satellite\'s back during the grace are made again by the next create', async () => {
  const first = await create({ container_args: ['sleep', '600'], network: 'internet' });
  await remove(first);
  // By hand (an operator, a prune): the satellite still remembers them.
  await docker.getNetwork(alice.egress).remove();
  await docker.getNetwork(alice.shared).remove();
  const again = await create({ container_args: ['sleep', '600'], hostname: 'again', network: 'internet' });
  expect(await networkId(alice.shared)).not.toBeNull();
  expect(await networkId(alice.egress)).not.toBeNull();
  expect(rules()).toContain(`-A ${prefix}-IN -i ${alice.egressBridge} -j DROP`);
  await remove(again);
  await eventually(async () => ((await gone()) ? true : undefined), 20_000, 'the networks and their rules removed after the grace');
});

test('SATELLITE_NETWORK_GRACE_SECONDS: 300 s by default, 0 allowed, anything else refused naming it', () => {
  const config = (value?: string): number => loadSatelliteConfig({ SATELLITE_SECRET: 'x'.repeat(32), ...(value === undefined ? {} : { SATELLITE_NETWORK_GRACE_SECONDS: value }) }).networkGraceMs;
  expect(config()).toBe(300_000);
  expect(config('0')).toBe(0);
  expect(config('86400')).toBe(86_400_000);
  for (const bad of ['-1', '1.5', 'ten', '86401', '1e3']) {
    expect(() => config(bad)).toThrow(ConfigError);
    expect(() => config(bad)).toThrow(/SATELLITE_NETWORK_GRACE_SECONDS/);
  }
});
