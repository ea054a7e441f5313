/**
 * Users' networks on a real Swarm (units/scheduler/swarm-networks.ts), with real traffic (busybox
 * nc) between containers on different nodes: a user's containers reach each other by hostname and
 * by address across nodes; another user's container has no route to them; `private` and `none`
 * have no way out; a permanent container's published port is reachable at the address the API
 * reports, and after its node is lost, at the new node's. The overlays go with the last container.
 * The satellites own each node's packet filter (host network, CAP_NET_ADMIN): an `internet`
 * container, whose way out is docker_gwbridge, reaches neither its node nor another node nor the
 * metadata address, where a plain container on the node's docker0 reaches all three.
 * The manager (node 1) is drained so that user containers land on the two workers.
 */
import type Docker from 'dockerode';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PREFIX, SATELLITE_PORT, type Cluster, type ClusterNode } from './harness';
import { b64, eventually, workersWithApi, type ClusterApi } from './system';
import { execIn } from '../support/container-exec';

let cluster: Cluster;
let api: ClusterApi;
const tokens = new Map<string, string>();

interface View {
  id: string;
  status: string;
  node: string | null;
  ports: Array<{ port: number; protocol: string; host_ip: string | null; host_port: number | null }>;
}

beforeAll(async () => {
  const up = await workersWithApi();
  ({ cluster, api } = up);
  process.stdout.write(`[cluster] 3-node Swarm ready in ${up.readyMs} ms\n`);
  tokens.set('admin', await api.token());
  await api.http().post('/v1/users/').set('Authorization', `JWT ${tokens.get('admin')}`).send({ username: 'bob', password: 'bob-password-123' }).expect(201);
  const login = await api.http().post('/api-token-auth/').send({ username: 'bob', password: 'bob-password-123' }).expect(200);
  tokens.set('bob', login.body.token as string);
});

afterAll(async () => {
  await api?.close();
  await cluster?.down();
});

const as = (user: string): [string, string] => ['Authorization', `JWT ${tokens.get(user)}`];

/** A shell loop that answers every TCP connection on `port` with `reply`. */
const server = (port: number, reply: string): string => `#!/bin/sh\nwhile true; do echo ${reply} | nc -l -p ${port}; done\n`;
const SLEEPER = '#!/bin/sh\nexec sleep 600\n';

async function create(user: string, body: Record<string, unknown>): Promise<string> {
  const res = await api.http().post('/v1/container/').set(...as(user)).send(body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function view(user: string, id: string): Promise<View> {
  const res = await api.http().get(`/v1/container/${id}/`).set(...as(user));
  if (res.status !== 200) throw new Error(`info: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as View;
}

const running = (user: string, id: string): Promise<View> =>
  eventually(`${id} running`, async () => {
    const current = await view(user, id);
    return current.status === 'running' ? current : undefined;
  });

function nodeOf(state: View): ClusterNode {
  const node = cluster.nodeOfMachine(state.node);
  if (!node) throw new Error(`container ${state.id} has no node`);
  return node;
}

/** The engine container of a BoatLoad container on its node. */
async function engineContainer(state: View): Promise<Docker.Container> {
  const docker = nodeOf(state).docker;
  const found = await eventually('its container', async () => (await docker.listContainers({ filters: { label: [`boatload.id=${state.id}`] } }))[0]);
  return docker.getContainer(found.Id);
}

/** Runs a command in the container (real processes, real packets); its exit code and output. */
async function run(state: View, command: string): Promise<{ code: number; output: string }> {
  return execIn(await engineContainer(state), command);
}

/** The container's address on its user's shared overlay. */
async function overlayAddress(state: View): Promise<string> {
  const info = (await (await engineContainer(state)).inspect()) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };
  const shared = Object.entries(info.NetworkSettings.Networks).find(([name]) => /^boatload-net-[0-9a-f]{16}$/.test(name));
  if (!shared) throw new Error(`container ${state.id} is on no user's network: ${Object.keys(info.NetworkSettings.Networks).join(', ')}`);
  return shared[1].IPAddress;
}

/** Reads what a TCP server at host:port says, from this process (outside every node). */
function readTcp(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 3000 });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
  });
}

async function overlays(): Promise<string[]> {
  const networks = await cluster.manager.docker.listNetworks({ filters: { driver: ['overlay'] } });
  return networks.map((n) => n.Name).filter((name) => /^boatload-(net|iso)-/.test(name)).sort();
}

const ids: Record<string, string> = {};

describe("users' overlays", () => {
  test("a user's containers reach each other by hostname and address across nodes; another user's have no route", async () => {
    ids.srv = await create('admin', { script: b64(server(7000, 'hello-from-srv')), hostname: 'srv', network: 'private' });
    const srv = await running('admin', ids.srv);
    // The admin's client and bob's container on the other worker than srv (Swarm spreads; retried).
    const onOtherNode = async (user: string, name: string, body: Record<string, unknown>): Promise<View> => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const id = await create(user, { script: b64(SLEEPER), hostname: `${name}${attempt}`, ...body });
        const state = await running(user, id);
        if (state.node !== srv.node) return state;
      }
      throw new Error(`no container of ${user} landed on another node than srv`);
    };
    const cli = await onOtherNode('admin', 'cli', { network: 'internet', script: b64(server(7001, 'hello-from-cli')) });
    ids.cli = cli.id;
    const bob = await onOtherNode('bob', 'bob', { network: 'internet' });
    expect(nodeOf(cli).index).not.toBe(nodeOf(srv).index);
    expect(nodeOf(bob).index).not.toBe(nodeOf(srv).index);
    const address = await overlayAddress(srv);

    const byName = await run(cli, 'nc -w 5 srv 7000 </dev/null');
    expect(byName.output).toContain('hello-from-srv');
    const byAddress = await run(cli, `nc -w 5 ${address} 7000 </dev/null`);
    expect(byAddress.output).toContain('hello-from-srv');

    // Bob's container: the same address and port that answered just now, refused; the name unknown.
    const other = await run(bob, `nc -w 5 ${address} 7000 </dev/null`);
    expect(other.code).not.toBe(0);
    expect(other.output).not.toContain('hello-from-srv');
    const otherByName = await run(bob, 'nc -w 5 srv 7000 </dev/null');
    expect(otherByName.code).not.toBe(0);
    expect(otherByName.output).not.toContain('hello-from-srv');
    // With two workers, bob's container and the admin's internet client share a node, and with it
    // docker_gwbridge (their way out): the engine keeps containers on it apart (enable_icc=false).
    if (nodeOf(bob).index === nodeOf(cli).index) {
      // Every address of the client: its shared overlay's, its egress overlay's and docker_gwbridge's.
      const listed = (await run(cli, 'ip -4 -o addr show')).output;
      const addresses = [...listed.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]).filter((a) => !a.startsWith('127.'));
      expect(addresses.length).toBeGreaterThanOrEqual(3);
      expect((await run(cli, 'nc -w 5 srv 7000 </dev/null')).output).toContain('hello-from-srv');
      for (const target of addresses) {
        const tried = await run(bob, `nc -w 5 ${target} 7001 </dev/null`);
        expect(tried.output).not.toContain('hello-from-cli');
        expect(tried.code).not.toBe(0);
      }
      process.stdout.write(`[cluster] bob's container refused at the admin's client on the same node (${addresses.join(', ')})\n`);
    }
    // And the reverse: srv (private) has no route out at all, not even a default one.
    const routes = await run(srv, 'ip route');
    expect(routes.output).not.toContain('default');
    expect((await run(cli, 'ip route')).output).toContain('default');
    process.stdout.write(`[cluster] srv ${nodeOf(srv).hostname} ${address}; admin's cli on ${nodeOf(cli).hostname} reached it, bob's container on ${nodeOf(bob).hostname}: ${other.output.trim()}\n`);
  });

  test("internet on swarm: the satellites' rules keep it off the nodes and metadata; published ports and the owner's containers stay", async () => {
    const cli = await view('admin', ids.cli);
    const here = nodeOf(cli);
    const other = cluster.node(here.index === 2 ? 3 : 2);
    // The "metadata service": 169.254.169.254 in the cluster's switch namespace, routed from the workers.
    const sw = `${PREFIX}-sw`;
    const webDir = mkdtempSync(join(tmpdir(), 'boatload-metadata-'));
    writeFileSync(join(webDir, 'index.html'), 'metadata-secret\n');
    const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
    try {
      ip('-n', sw, 'addr', 'add', '198.18.0.254/24', 'dev', 'br0');
      ip('-n', sw, 'addr', 'add', '169.254.169.254/32', 'dev', 'br0');
      for (const node of [here, other]) ip('-n', node.hostname, 'route', 'add', '169.254.169.254/32', 'via', '198.18.0.254');
      // busybox httpd daemonizes; it is killed by its namespace's pids below.
      execFileSync('ip', ['netns', 'exec', sw, 'busybox', 'httpd', '-p', '169.254.169.254:80', '-h', webDir]);

      // Each target answers HTTP (the satellite: an unsigned 401); probed in parallel, 3 s each.
      const targets = [`${here.ip}:${SATELLITE_PORT}`, `${other.ip}:${SATELLITE_PORT}`, '169.254.169.254:80'];
      const probe = (list: string[]): string =>
        `for t in ${list.join(' ')}; do (if printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 \${t%:*} \${t#*:} 2>/dev/null | grep -q HTTP/1; then echo "open $t"; else echo "closed $t"; fi) & done; wait`;
      // The baseline: a plain container on the node's docker0 (no rule covers it) reaches all three.
      const baseline = (await promisify(execFile)('docker', ['-H', `unix://${here.socket}`, 'run', '--rm', '--network', 'bridge', 'boatload/base:latest', 'sh', '-c', probe(targets)])).stdout;
      for (const target of targets) expect(baseline).toContain(`open ${target}`);
      // The internet container: its way out is docker_gwbridge, whose gateway is the node too.
      const gateway = /default via (\S+)/.exec((await run(cli, 'ip route')).output)?.[1];
      expect(gateway).toBeDefined();
      const tried = (await run(cli, probe([...targets, `${gateway}:${SATELLITE_PORT}`]))).output;
      for (const target of [...targets, `${gateway}:${SATELLITE_PORT}`]) expect(tried).toContain(`closed ${target}`);
      process.stdout.write(`[cluster] from the internet container on ${here.hostname}: ${tried.trim().split(/\r?\n/).join(', ')}; baseline on docker0: all open\n`);
    } finally {
      for (const pid of execFileSync('ip', ['netns', 'pids', sw], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      rmSync(webDir, { recursive: true, force: true });
    }

    // Allowed still: the owner's private server by hostname on the other node, and a published port
    // (what links and #id.port templates point at) on another node than the client's.
    expect((await run(cli, 'nc -w 5 srv 7000 </dev/null')).output).toContain('hello-from-srv');
    let published: View | undefined;
    for (let attempt = 0; attempt < 4 && !published; attempt++) {
      const id = await create('admin', { script: b64(server(7080, 'hello-from-pub')), network: 'internet', ports: ['7080'], hostname: `pub${attempt}` });
      const state = await eventually('the published port', async () => {
        const current = await view('admin', id);
        return current.status === 'running' && current.ports[0]?.host_port ? current : undefined;
      });
      if (state.node !== cli.node) published = state;
    }
    if (!published) throw new Error('no published container landed on another node than the client');
    const { host_ip: hostIp, host_port: hostPort } = published.ports[0];
    expect((await run(cli, `nc -w 5 ${hostIp} ${hostPort} </dev/null`)).output).toContain('hello-from-pub');
    // No IPv6 path to filter: the overlays and docker_gwbridge give the container no IPv6 address or route.
    expect((await run(cli, 'ip -6 addr show scope global')).output).not.toContain('inet6');
    expect((await run(cli, 'ip -6 route')).output).not.toContain('default');
  });

  test('none: a container alone, with no route anywhere', async () => {
    ids.none = await create('admin', { script: b64(SLEEPER), network: 'none' });
    const alone = await running('admin', ids.none);
    const srv = await view('admin', ids.srv);
    const address = await overlayAddress(srv);
    expect((await run(alone, 'ip route')).output).not.toContain('default');
    const tried = await run(alone, `nc -w 5 ${address} 7000 </dev/null`);
    expect(tried.code).not.toBe(0);
    expect(tried.output).not.toContain('hello-from-srv');
  });

  test("a user's overlays are removed with their last container; another user's stay", async () => {
    const admins = (await overlays()).filter((name) => !name.startsWith('boatload-iso-'));
    const bobs = await eventually("bob's overlays", async () => {
      const info = (await cluster.manager.docker.listNetworks({ filters: { label: ['boatload.owner=bob'] } })) as Array<{ Name: string }>;
      return info.length > 0 ? info.map((n) => n.Name) : undefined;
    });
    expect(bobs).toHaveLength(2);
    const listing = (await api.http().get('/v1/container/').set(...as('bob')).expect(200)).body as Array<{ id: string }>;
    for (const { id } of listing) await api.http().delete(`/v1/container/${id}/`).set(...as('bob')).expect(204);
    await api.http().delete(`/v1/container/${ids.none}/`).set(...as('admin')).expect(204);
    const removedAt = Date.now();
    const left = await eventually("bob's overlays and the none container's removed", async () => {
      const names = await overlays();
      return names.some((name) => bobs.includes(name) || name.startsWith('boatload-iso-')) ? undefined : names;
    }, 90000, 1000);
    process.stdout.write(`[cluster] overlays removed ${Date.now() - removedAt} ms after the last container's delete\n`);
    // The admin's containers still run: their overlays stay.
    for (const name of admins.filter((n) => !bobs.includes(n))) expect(left).toContain(name);
  });

  test("a permanent container's published port: reached where the API says, and at the new node after its node is lost", async () => {
    ids.web = await create('admin', { script: b64(server(8080, 'hello-from-web')), permanent: true, ports: ['8080'], hostname: 'web' });
    const before = await eventually('the published port', async () => {
      const state = await view('admin', ids.web);
      return state.status === 'running' && state.ports[0]?.host_port ? state : undefined;
    });
    const lost = nodeOf(before);
    expect(before.ports[0].host_ip).toBe(lost.ip);
    expect(await readTcp(before.ports[0].host_ip as string, before.ports[0].host_port as number)).toContain('hello-from-web');

    const crashedAt = Date.now();
    await cluster.crash(lost.index);
    const after = await eventually('the port published on another node', async () => {
      const state = await view('admin', ids.web).catch(() => undefined);
      return state && state.status === 'running' && state.node !== lost.machineId && state.ports[0]?.host_ip && state.ports[0].host_ip !== lost.ip ? state : undefined;
    }, 90000, 200);
    process.stdout.write(`[cluster] node crash → published port updated to ${after.ports[0].host_ip}:${after.ports[0].host_port} after ${Date.now() - crashedAt} ms\n`);
    expect(after.ports[0].host_ip).toBe(nodeOf(after).ip);
    const answer = await eventually('an answer at the new address', async () => readTcp(after.ports[0].host_ip as string, after.ports[0].host_port as number).catch(() => undefined), 30000);
    expect(answer).toContain('hello-from-web');
    // The moved container is still on its user's network: it reaches srv (if srv survived) by name.
    const srv = await view('admin', ids.srv);
    if (srv.status === 'running') expect((await run(after, 'nc -w 5 srv 7000 </dev/null')).output).toContain('hello-from-srv');
  });

});
