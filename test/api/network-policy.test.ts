/**
 * The network model on the real engine with real traffic: users' networks, hostnames and the packet
 * filter the satellite owns. Busybox wget from inside BoatLoad containers (through the exec route)
 * shows every allowed path working and every forbidden one refused. The "outside world" is a network
 * namespace this test creates, joined to the host by a veth pair and routed from it: a metadata
 * address (169.254.169.254), a private address outside the egress allowlist, one inside it, and a
 * TEST-NET address standing for the internet, each serving HTTP. A plain container on Docker's
 * default bridge (outside BoatLoad's policy) reaches every one of them: the refusals are the policy's.
 * A warm pool for private and internet runs (BOATLOAD_WARM_POOL without network=none) runs beside
 * it: its members wait on the satellite's holding network and join their owner's at the take.
 */
import Docker from 'dockerode';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LABELS } from '../../common/labels';
import { holdingNetworkNames, userNetworkName, userNetworkNames } from '../../common/network-model';
import type { WarmTakeRequest } from '../../common/satellite-protocol';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

jest.setTimeout(120_000);

const tag = randomBytes(3).toString('hex');
const prefix = `BLT${tag.toUpperCase()}`;
const ns = `npt-${tag}`;
const vethHost = `nptv${tag}`;
const vethNs = `nptn${tag}`;
const ADDR = { metadata: '169.254.169.254', privateOut: '10.213.7.10', privateIn: '10.213.8.10', internet: '198.51.100.10' };
const ALLOW = '10.213.8.0/24';
const docker = new Docker();
const execFileAsync = promisify(execFile);
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

let system: TestSystem;
let hostServer: Server;
let hostPort = 0;
let webDir = '';
const made: Record<'alice' | 'bob', string[]> = { alice: [], bob: [] };
const baseline = `npt-${tag}-baseline`;
const WARM_SIZE = 2;

function setUpOutside(): void {
  ip('netns', 'add', ns);
  ip('link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs);
  ip('link', 'set', vethNs, 'netns', ns);
  ip('addr', 'add', '10.213.9.1/30', 'dev', vethHost);
  ip('link', 'set', vethHost, 'up');
  ip('-n', ns, 'addr', 'add', '10.213.9.2/30', 'dev', vethNs);
  ip('-n', ns, 'link', 'set', vethNs, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'route', 'add', 'default', 'via', '10.213.9.1');
  for (const address of Object.values(ADDR)) {
    ip('-n', ns, 'addr', 'add', `${address}/32`, 'dev', 'lo');
    ip('route', 'replace', `${address}/32`, 'via', '10.213.9.2', 'dev', vethHost);
  }
  webDir = mkdtempSync(join(tmpdir(), 'npt-web-'));
  writeFileSync(join(webDir, 'ok'), 'outside\n');
  // busybox httpd daemonizes; it dies with the namespace's processes at teardown.
  execFileSync('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-p', '0.0.0.0:8080', '-h', webDir]);
}

function tearDownOutside(): void {
  try {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
  for (const address of Object.values(ADDR)) {
    try {
      ip('route', 'del', `${address}/32`);
    } catch {
      // already gone
    }
  }
  try {
    ip('link', 'del', vethHost);
  } catch {
    // already gone
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
  if (webDir) rmSync(webDir, { recursive: true, force: true });
}

async function create(username: string, body: Record<string, unknown>): Promise<string> {
  const token = await system.token(username);
  const res = await system.http().post('/v1/container/?wait=ready&timeout=30').set('Authorization', `JWT ${token}`).send(body);
  expect(res.status).toBe(201);
  made[username as 'alice' | 'bob']?.push(res.body.id as string);
  return res.body.id as string;
}

/** Runs a shell command in the container through the exec route; its exit code and output. */
async function run(username: string, id: string, command: string): Promise<{ code: number; out: string }> {
  const token = await system.token(username);
  const res = await system.http().post(`/v1/container/${id}/exec`).set('Authorization', `JWT ${token}`).send({ cmd: ['/bin/sh', '-c', command], timeout: 20 });
  expect(res.status).toBe(200);
  return { code: res.body.exit_code as number, out: `${res.body.stdout as string}${res.body.stderr as string}` };
}

/** An HTTP GET by busybox nc (busybox wget crashes on this kernel: SIGSEGV on every request). */
const fetchCmd = (url: string): string => {
  const { hostname, port, pathname } = new URL(url);
  return `printf 'GET ${pathname} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${hostname} ${port} | sed -n '/^\\r*$/,$p' | tail -n 1`;
};

async function reaches(username: string, id: string, url: string): Promise<boolean> {
  const result = await run(username, id, fetchCmd(url));
  return /^(outside|host|web|bob)$/.test(result.out.trim());
}

async function containerIp(id: string, network: string): Promise<string> {
  const info = await docker.getContainer(`boatload-${id}`).inspect();
  return info.NetworkSettings.Networks[network].IPAddress;
}

async function gatewayOf(network: string): Promise<string> {
  const info = await docker.getNetwork(network).inspect();
  return (info.IPAM?.Config?.[0] as { Gateway: string }).Gateway;
}

const hostAddress = (): string => {
  const line = ip('-4', '-o', 'route', 'get', '198.18.200.1').trim();
  return /src (\S+)/.exec(line)?.[1] ?? '127.0.0.1';
};

const rules = (): string => execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' });

beforeAll(async () => {
  setUpOutside();
  hostServer = createServer((_req, res) => res.end('host\n'));
  await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
  hostPort = (hostServer.address() as AddressInfo).port;
  // Runs with a hostname, ports or without a script never fit the pool: the tests above them run cold.
  system = await startSystem({ BOATLOAD_WARM_POOL: `boatload/base:latest=${WARM_SIZE}` }, { firewall: { prefix, egressAllow: [ALLOW] } });
  execFileSync('docker', ['run', '-d', '--name', baseline, 'boatload/base:latest', 'sleep', '600']);
});

afterAll(async () => {
  execFileSync('docker', ['rm', '-f', baseline]);
  await system?.close();
  hostServer?.close();
  tearDownOutside();
  // Nothing of this test's prefix is left in the host's rules.
  expect(rules()).not.toContain(`${prefix}-`);
});

const webScript = (text: string): string => Buffer.from(`#!/bin/sh\nmkdir -p /www && echo ${text} > /www/ok && exec httpd -f -p 8080 -h /www\n`).toString('base64');

test('the outside world of this test answers a container outside BoatLoad (the baseline)', async () => {
  // Not execFileSync: the host's listener is in this process and must keep answering.
  const fromBaseline = async (url: string): Promise<string> => (await execFileAsync('docker', ['exec', baseline, 'sh', '-c', fetchCmd(url)], { encoding: 'utf8' })).stdout.trim();
  for (const address of Object.values(ADDR)) expect(await fromBaseline(`http://${address}:8080/ok`)).toBe('outside');
  expect(await fromBaseline(`http://172.17.0.1:${hostPort}/`)).toBe('host');
});

test('hostnames, users\' networks and the connection policy, with real traffic', async () => {
  const web = await create('alice', { script: webScript('web'), hostname: 'web', network: 'internet', permanent: true });
  const priv = await create('alice', { container_args: ['sleep', '600'], hostname: 'worker', network: 'private' });
  const none = await create('alice', { container_args: ['sleep', '600'], network: 'none' });
  const bob = await create('bob', { script: webScript('bob'), hostname: 'web', network: 'internet', permanent: true });

  const token = await system.token('alice');
  const info = await system.http().get(`/v1/container/${web}/`).set('Authorization', `JWT ${token}`).expect(200);
  expect(info.body).toMatchObject({ hostname: 'web', network: 'internet' });
  const listing = await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);
  expect((listing.body as Array<{ id: string; hostname: string | null; network: string }>).find((c) => c.id === priv)).toMatchObject({ hostname: 'worker', network: 'private' });
  const state = await system.http().get(`/v1/container/${none}/state`).set('Authorization', `JWT ${token}`).expect(200);
  expect(state.body).toMatchObject({ hostname: null, network: 'none' });
  expect((await run('alice', web, 'hostname')).out.trim()).toBe('web');

  const aliceNet = userNetworkNames(userNetworkName(system.api.instanceId, 'alice'));
  const bobNet = userNetworkNames(userNetworkName(system.api.instanceId, 'bob'));
  if (!aliceNet || !bobNet) throw new Error('network names');
  const bobIp = await containerIp(bob, bobNet.shared);
  const bobEgressIp = await containerIp(bob, bobNet.egress);
  const gateway = await gatewayOf(aliceNet.egress);
  const host = hostAddress();
  const outside = (address: string): string => `http://${address}:8080/ok`;

  const checks: Array<[string, string, string, boolean]> = [
    // Allowed paths.
    ['private reaches its user\'s web by hostname', priv, 'http://web:8080/ok', true],
    ['internet reaches the internet', web, outside(ADDR.internet), true],
    ['internet reaches an allowlisted private address', web, outside(ADDR.privateIn), true],
    // Forbidden paths.
    ['internet: metadata', web, outside(ADDR.metadata), false],
    ['internet: a private address outside the allowlist', web, outside(ADDR.privateOut), false],
    ['internet: another user\'s container by IP', web, `http://${bobIp}:8080/ok`, false],
    ['internet: another user\'s container by its egress IP', web, `http://${bobEgressIp}:8080/ok`, false],
    ['internet: a host service through its network\'s gateway', web, `http://${gateway}:${hostPort}/`, false],
    ['internet: a host service through the host\'s own address', web, `http://${host}:${hostPort}/`, false],
    ['internet: a host service through docker0', web, `http://172.17.0.1:${hostPort}/`, false],
    ['private: the internet', priv, outside(ADDR.internet), false],
    ['private: an allowlisted address', priv, outside(ADDR.privateIn), false],
    ['private: metadata', priv, outside(ADDR.metadata), false],
    ['private: a host service', priv, `http://${host}:${hostPort}/`, false],
    ['private: another user\'s container by IP', priv, `http://${bobIp}:8080/ok`, false],
    ['none: its user\'s web', none, 'http://web:8080/ok', false],
    ['none: the internet', none, outside(ADDR.internet), false],
    ['bob\'s "web" is his own, not alice\'s', bob, 'http://web:8080/ok', true],
  ];
  const results = await Promise.all(checks.map(async ([name, id, url]) => [name, await reaches(id === bob ? 'bob' : 'alice', id, url)] as const));
  const expected = checks.map(([name, , , allowed]) => [name, allowed] as const);
  expect(results).toEqual(expected);
  // Bob's "web" answers with bob's page; alice's private container sees alice's.
  expect((await run('bob', bob, fetchCmd('http://web:8080/ok'))).out.trim()).toBe('bob');
  expect((await run('alice', priv, fetchCmd('http://web:8080/ok'))).out.trim()).toBe('web');
  // DNS through the engine's resolver keeps working in every mode with a network.
  expect((await run('alice', priv, 'nslookup web 127.0.0.11')).code).toBe(0);
});

test("a user's own published port is reached through the host (a link); another user's container cannot, and the rule goes with the port", async () => {
  const site = await create('alice', { script: webScript('web'), network: 'internet', permanent: true, ports: ['8080'] });
  const token = await system.token('alice');
  const published = async (): Promise<{ host_ip: string; host_port: number } | undefined> => {
    const state = await system.http().get(`/v1/container/${site}/state`).set('Authorization', `JWT ${token}`).expect(200);
    const [port] = state.body.ports as Array<{ host_ip: string | null; host_port: number | null }>;
    return port?.host_port ? { host_ip: port.host_ip as string, host_port: port.host_port } : undefined;
  };
  let where = await published();
  for (let i = 0; i < 50 && !where; i++) where = await new Promise((resolve) => setTimeout(() => resolve(published()), 200));
  if (!where) throw new Error('the port was never published');
  const linked = await create('alice', { container_args: ['sleep', '600'], network: 'internet', links: { site } });
  const bob = await create('bob', { container_args: ['sleep', '600'], network: 'internet' });
  // The link name and its variables: the target's host_ip:host_port, through the engine's proxy on the host.
  const viaLink = await run('alice', linked, `printf 'GET /ok HTTP/1.0\\r\\n\\r\\n' | nc -w 3 site "$SITE_PORT_8080_TCP_PORT" | tail -n 1`);
  expect(viaLink.out.trim()).toBe('web');
  expect(rules()).toContain(`--dport ${where.host_port} -j RETURN`);
  // Only that port: the host's other services stay out of reach, and bob's containers get no such rule.
  expect(await reaches('alice', linked, `http://${where.host_ip}:${hostPort}/`)).toBe(false);
  expect(await reaches('bob', bob, `http://${where.host_ip}:${where.host_port}/ok`)).toBe(false);
  await system.http().delete(`/v1/container/${site}/`).set('Authorization', `JWT ${token}`).expect(204);
  made.alice.splice(made.alice.indexOf(site), 1);
  expect(rules()).not.toContain(`--dport ${where.host_port} -j RETURN`);
});

/** Creates a script run of alice's and waits for its exit; answers its id (kept for the cleanup test). */
async function runToExit(body: Record<string, unknown>): Promise<string> {
  const token = await system.token('alice');
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send(body);
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  made.alice.push(id);
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`).expect(200);
    return state.body.docker_state.Status === 'exited' ? true : undefined;
  }, 30_000, `container ${id} to exit`);
  return id;
}

/**
 * One shell script that tries every path at once (refused ones hang until nc's timeout) and prints
 * `name=answer` lines; its answers wait in /dev/shm (a tmpfs: no change to the container's files).
 */
function probeScript(paths: Array<[string, string]>): string {
  const lines = ['#!/bin/sh'];
  paths.forEach(([, url], i) => lines.push(`(${fetchCmd(url)}) > /dev/shm/probe.${i} 2>/dev/null &`));
  lines.push('wait');
  paths.forEach(([name], i) => lines.push(`echo "${name}=$(cat /dev/shm/probe.${i})"`));
  return `${lines.join('\n')}\n`;
}

test('a warm private or internet run joins only its owner\'s networks and reaches exactly what a cold run reaches; a waiting member reaches nothing', async () => {
  const warmIdle = (): number => system.api.warm?.status().reduce((sum, p) => sum + p.idle, 0) ?? -1;
  await eventually(async () => (warmIdle() === WARM_SIZE ? true : undefined), 30_000, 'a full pool');
  const [peer, bob] = await Promise.all([
    create('alice', { script: webScript('web'), hostname: 'peer', network: 'internet', permanent: true }),
    create('bob', { script: webScript('bob'), hostname: 'bobweb', network: 'internet', permanent: true }),
  ]);
  const aliceNet = userNetworkNames(userNetworkName(system.api.instanceId, 'alice'));
  const bobNet = userNetworkNames(userNetworkName(system.api.instanceId, 'bob'));
  if (!aliceNet || !bobNet) throw new Error('network names');
  const holding = holdingNetworkNames(prefix);
  const host = hostAddress();
  const outside = (address: string): string => `http://${address}:8080/ok`;

  // A waiting member: on the holding network only, on no user's network, and it reaches nothing.
  const members = await docker.listContainers({ filters: { label: [`${LABELS.instance}=${system.api.instanceId}`, LABELS.warmPool] } });
  expect(members.length).toBeGreaterThanOrEqual(2);
  const [member, other] = await Promise.all(members.slice(0, 2).map((m) => docker.getContainer(m.Id).inspect()));
  expect(Object.keys(member.NetworkSettings.Networks)).toEqual([holding.name]);
  const holdingInfo = await docker.getNetwork(holding.name).inspect();
  expect(holdingInfo).toMatchObject({ Internal: true, Options: { 'com.docker.network.bridge.name': holding.bridge, 'com.docker.network.bridge.enable_icc': 'false' } });
  const waiting: Array<[string, string]> = [
    ['peer-by-name', 'http://peer:8080/ok'],
    ['peer-by-ip', `http://${await containerIp(peer, aliceNet.shared)}:8080/ok`],
    ['other-member', `http://${other.NetworkSettings.Networks[holding.name].IPAddress}:8080/ok`],
    ['host-gateway', `http://${await gatewayOf(holding.name)}:${hostPort}/`],
    ['host', `http://${host}:${hostPort}/`],
    ['docker0', `http://172.17.0.1:${hostPort}/`],
    ['internet', outside(ADDR.internet)],
    ['allowlisted', outside(ADDR.privateIn)],
    ['metadata', outside(ADDR.metadata)],
  ];
  // The other member listens (a listener that writes no file), so that only the network stands between them; it goes after the probe.
  await execFileAsync('docker', ['exec', '-d', other.Id, 'nc', '-ll', '-p', '8080', '-e', 'printf', 'HTTP/1.0 200 OK\r\n\r\nmember\n']);
  const probe = async (id: string, paths: Array<[string, string]>): Promise<string> => (await execFileAsync('docker', ['exec', id, 'sh', '-c', probeScript(paths).replace('#!/bin/sh\n', '')], { encoding: 'utf8' })).stdout;
  // It answers on its own address (the probe of a refusal below is not vacuous).
  expect(await probe(other.Id, [['self', `http://${other.NetworkSettings.Networks[holding.name].IPAddress}:8080/ok`]])).toBe('self=member\n');
  const fromMember = await probe(member.Id, waiting);
  await execFileAsync('docker', ['exec', other.Id, 'sh', '-c', 'kill $(pidof nc)']);
  expect(fromMember).toBe(waiting.map(([name]) => `${name}=\n`).join(''));

  // A take that names anything but one user's network (then at most its egress network) is a 400, and the member keeps waiting.
  const memberName = member.Name.replace(/^\//, '');
  const take = (networks: unknown) => system.api.satellite.takeWarm(memberName, { script: { path: '/boatload/script', contentBase64: b64('#!/bin/sh\necho taken\n') }, args: [], env: {}, networks } as WarmTakeRequest);
  for (const networks of [[{ name: 'bridge' }], [{ name: holding.name }], [{ name: aliceNet.shared }, { name: bobNet.egress }], [{ name: aliceNet.egress }], [{ name: aliceNet.shared, aliases: ['Not A Label'] }], [{ name: aliceNet.shared }, { name: aliceNet.egress }, { name: aliceNet.egress }], 'x']) {
    await expect(take(networks)).rejects.toMatchObject({ status: 400 });
  }
  expect((await docker.getContainer(member.Id).inspect()).State.Running).toBe(true);

  const paths: Array<[string, string]> = [
    ['peer-by-name', 'http://peer:8080/ok'],
    ['internet', outside(ADDR.internet)],
    ['allowlisted', outside(ADDR.privateIn)],
    ['metadata', outside(ADDR.metadata)],
    ['private-outside-allowlist', outside(ADDR.privateOut)],
    ['bob-by-name', 'http://bobweb:8080/ok'],
    ['bob-by-ip', `http://${await containerIp(bob, bobNet.shared)}:8080/ok`],
    ['bob-by-egress-ip', `http://${await containerIp(bob, bobNet.egress)}:8080/ok`],
    ['host-gateway', `http://${await gatewayOf(aliceNet.egress)}:${hostPort}/`],
    ['host', `http://${host}:${hostPort}/`],
    ['docker0', `http://172.17.0.1:${hostPort}/`],
    ['holding-gateway', `http://${await gatewayOf(holding.name)}:${hostPort}/`],
  ];
  const script = Buffer.from(`${probeScript(paths)}mkdir -p /out && echo done > /out/r.txt\n`).toString('base64');
  // Another pids limit does not fit the pool's class: the same run, cold.
  const [warmInternet, warmPrivate, coldInternet] = await Promise.all([runToExit({ script, network: 'internet' }), runToExit({ script, network: 'private' }), runToExit({ script, network: 'internet', pids: 100 })]);
  const inspect = (id: string): Promise<Docker.ContainerInspectInfo> => docker.getContainer(`boatload-${id}`).inspect();
  const [warmI, warmP, coldI, peerInfo] = await Promise.all([warmInternet, warmPrivate, coldInternet, peer].map(inspect));
  // A run with a hostname never fits (its UTS name is fixed when the engine creates it): the peer ran cold.
  expect(peerInfo.Config.Labels[LABELS.warmPool]).toBeUndefined();
  expect(warmI.Config.Labels[LABELS.warmPool]).toBeDefined();
  expect(warmP.Config.Labels[LABELS.warmPool]).toBeDefined();
  expect(coldI.Config.Labels[LABELS.warmPool]).toBeUndefined();
  // Only its owner's networks, as the cold run: no holding network, nothing of bob's.
  expect(Object.keys(warmI.NetworkSettings.Networks).sort()).toEqual([aliceNet.shared, aliceNet.egress].sort());
  expect(Object.keys(coldI.NetworkSettings.Networks).sort()).toEqual([aliceNet.shared, aliceNet.egress].sort());
  expect(Object.keys(warmP.NetworkSettings.Networks)).toEqual([aliceNet.shared]);

  const token = await system.token('alice');
  const readsOf = async (id: string): Promise<Record<string, unknown>> => {
    const get = (path: string) => system.http().get(`/v1/container/${id}/${path}`).set('Authorization', `JWT ${token}`).expect(200);
    const state = (await get('state')).body;
    return { stdout: (await get('stdout')).text, changes: (await get('changes')).body, exit: state.docker_state.ExitCode, status: state.status, network: state.network };
  };
  const [warmReads, coldReads, privateReads] = await Promise.all([warmInternet, coldInternet, warmPrivate].map(readsOf));
  expect(warmReads).toEqual(coldReads);
  expect(warmReads.changes).toEqual(expect.arrayContaining([expect.objectContaining({ Path: '/out/r.txt' })]));
  const answers = (text: unknown): Record<string, string> => Object.fromEntries((text as string).trim().split('\n').map((line) => line.split('=') as [string, string]));
  expect(answers(warmReads.stdout)).toEqual({
    'peer-by-name': 'web',
    internet: 'outside',
    allowlisted: 'outside',
    metadata: '',
    'private-outside-allowlist': '',
    'bob-by-name': '',
    'bob-by-ip': '',
    'bob-by-egress-ip': '',
    'host-gateway': '',
    host: '',
    docker0: '',
    'holding-gateway': '',
  });
  expect(answers(privateReads.stdout)).toEqual({ ...answers(warmReads.stdout), internet: '', allowlisted: '' });
  expect(privateReads.network).toBe('private');
}, 60_000);

async function remove(username: 'alice' | 'bob'): Promise<void> {
  const token = await system.token(username);
  for (const id of made[username].splice(0)) await system.http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${token}`).expect(204);
}

const networkExists = async (name: string): Promise<boolean> => docker.getNetwork(name).inspect().then(() => true, () => false);

test('a delete and a failed create leave no network and no rule; a satellite start removes stale rules', async () => {
  const alice = userNetworkNames(userNetworkName(system.api.instanceId, 'alice'));
  const bob = userNetworkNames(userNetworkName(system.api.instanceId, 'bob'));
  if (!alice || !bob) throw new Error('network names');
  expect(made.alice.length).toBeGreaterThan(0);
  expect(rules()).toContain(`-i ${alice.sharedBridge} -j DROP`);
  await remove('alice');
  expect(await networkExists(alice.shared)).toBe(false);
  expect(await networkExists(alice.egress)).toBe(false);
  expect(rules()).not.toContain(alice.sharedBridge);
  expect(rules()).not.toContain(alice.egressBridge);
  // Bob's networks and rules stay while he has a container.
  expect(await networkExists(bob.shared)).toBe(true);
  expect(rules()).toContain(`-A ${prefix}-IN -i ${bob.egressBridge} -j DROP`);

  // A create that fails on the engine (the image is not on the host) leaves nothing behind.
  const token = await system.token('alice');
  const failed = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ image_name: 'boatload/no-such-image', hostname: 'x', network: 'internet' });
  expect(failed.status).toBe(400);
  expect(await networkExists(alice.shared)).toBe(false);
  expect(await networkExists(alice.egress)).toBe(false);
  expect(rules()).not.toContain(alice.sharedBridge);
  // The hostname of a failed create is free again.
  await create('alice', { container_args: ['true'], hostname: 'x', network: 'private' });
  await remove('alice');

  // Stale rules (a crash, a hand edit) are gone once the satellite starts again; the policy holds.
  execFileSync('iptables', ['-w', '-A', `${prefix}-FWD`, '-s', '203.0.113.7', '-j', 'DROP']);
  execFileSync('iptables', ['-w', '-N', `${prefix}-Uffffffffff`]);
  await system.restartSatellite();
  const after = rules();
  expect(after).not.toContain('203.0.113.7');
  expect(after).not.toContain(`${prefix}-Uffffffffff`);
  expect(after).toContain(`-A ${prefix}-FWD -i ${bob.egressBridge} -j ${prefix}-U${bob.sharedBridge.slice(4)}`);
  expect(after.split('\n').filter((l) => l === `-A DOCKER-USER -j ${prefix}-FWD`)).toHaveLength(1);
  expect(after.split('\n').filter((l) => l === `-A INPUT -j ${prefix}-IN`)).toHaveLength(1);

  await remove('bob');
  expect(await networkExists(bob.shared)).toBe(false);
  expect(rules()).not.toContain(`${prefix}-U`);
});
