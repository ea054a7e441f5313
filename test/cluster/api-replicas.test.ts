/**
 * Two API replicas as a Swarm service on one PostgreSQL database (issue 17), and the loss of the node
 * that ran the leader. The image boatload/api is deployed with docker/deploy-swarm.sh (API_REPLICAS=2,
 * BOATLOAD_DATABASE_URL), the PostgreSQL server runs on the host, on its leg of the nodes' bridge
 * (198.18.0.1), admitting password logins from the nodes' subnet only.
 *
 * Placement: the harness makes one manager (node 1); losing it would lose the Swarm (no quorum left)
 * and every replica's way to it (they drive the Swarm through the manager's satellite). So the two
 * replicas run on the workers (nodes 2 and 3, labelled boatload.api=true), one a node, and whichever
 * leads runs on a worker that can be crashed (every replica's Swarm calls go through the one
 * manager's satellite, so that manager stays a single point for them, with three managers too).
 *
 * The leader is read where an operator would read it: the session holding the lease's advisory lock
 * in pg_locks, whose client address is its node's. A second case: a write through a node's satellite
 * (an exec) is announced to the other replicas on PostgreSQL's engine channel, as on the local backend.
 */
import pg from 'pg';
import { LEADER_LOCK } from '../../api/store/leader-lease';
import { ENGINE_CHANNEL } from '../../api/store/postgres-change-feed';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { Cluster, DEPLOYED_ADMIN_PASSWORD, HOST_ADDRESS, NODES_SUBNET, type ClusterNode } from './harness';
import { b64, CLUSTER_SECRET, eventually } from './system';

const API_NODES = [2, 3];

let cluster: Cluster;
let server: PostgresServer;
let admin: pg.Client;
/** Set by the first test: the replica left, a token, a container running (for the second). */
let after: { survivor: ClusterNode; token: string; id: string } | null = null;
let lostNode: ClusterNode | null = null;

interface Reply {
  status: number;
  body: Record<string, unknown> & { detail?: string };
  list: Array<Record<string, unknown>>;
}

async function call(node: ClusterNode, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `JWT ${init.token}`;
  const res = await fetch(`http://${node.ip}:8000${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  return { status: res.status, body: Array.isArray(parsed) ? {} : (parsed as Reply['body']), list: Array.isArray(parsed) ? (parsed as Reply['list']) : [] };
}

async function login(node: ClusterNode): Promise<string> {
  const res = await call(node, '/api-token-auth/', { method: 'POST', body: { username: 'admin', password: DEPLOYED_ADMIN_PASSWORD } });
  if (res.status !== 200) throw new Error(`login on ${node.hostname}: ${res.status} ${JSON.stringify(res.body)}`);
  return String(res.body.token);
}

/** The node whose replica holds the leader lease now (its session's address), or null. */
async function leaderNode(): Promise<ClusterNode | null> {
  const { rows } = await admin.query<{ addr: string | null }>(
    "SELECT host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1",
    [(LEADER_LOCK >> 32n).toString(), (LEADER_LOCK & 0xffffffffn).toString()],
  );
  if (rows.length === 0) return null;
  const node = [...cluster.nodes.values()].find((n) => n.ip === rows[0].addr);
  if (!node) throw new Error(`the lease is held from ${rows[0].addr}, no node's address`);
  return node;
}

/** The replica's own log on its node (its task container), for the takeover's convergence line and failures. */
async function replicaLog(node: ClusterNode): Promise<string> {
  const containers = await node.docker.listContainers({ all: true, filters: { label: ['com.docker.swarm.service.name=boatload-api'] } });
  const logs = await Promise.all(containers.map(async (c) => (await node.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: 200 })).toString('utf8')));
  return logs.join('\n');
}

async function create(node: ClusterNode, token: string, name: string): Promise<string> {
  const res = await call(node, '/v1/container/', { method: 'POST', token, body: { script: b64(`#!/bin/sh\necho "${name} on $(hostname)"\nexec sleep 600\n`), permanent: true } });
  if (res.status !== 201) throw new Error(`create on ${node.hostname}: ${res.status} ${JSON.stringify(res.body)}\n${await replicaLog(node)}`);
  return String(res.body.id);
}

async function stateOn(node: ClusterNode, token: string, id: string): Promise<{ status: string; node: string | null }> {
  const res = await call(node, `/v1/container/${id}/state`, { token });
  if (res.status !== 200) throw new Error(`state of ${id} on ${node.hostname}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as { status: string; node: string | null };
}

beforeAll(async () => {
  const started = Date.now();
  const up = await Cluster.up(3);
  cluster = up.cluster;
  // The server exists once the host's leg of the bridge does (Cluster.up makes it).
  server = await startPostgresServer({ listen: { address: HOST_ADDRESS, allowFrom: NODES_SUBNET } });
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  for (const index of API_NODES) await cluster.labelNode(index, { 'boatload.api': 'true' });
  await cluster.deploySatellites(CLUSTER_SECRET);
  await cluster.waitForSatellites([1, 2, 3]);
  await cluster.deployApi({ replicas: 2, env: [`BOATLOAD_DATABASE_URL=${server.url}`, 'BOATLOAD_STATE_SYNC_INTERVAL_MS=300', 'LOG_LEVEL=info'] });
  await eventually('both replicas serving logins', async () => {
    const tokens = await Promise.all(API_NODES.map((index) => login(cluster.node(index)).catch(() => null)));
    return tokens.every(Boolean) ? true : undefined;
  }, 120000, 500);
  process.stdout.write(`[cluster] 3 nodes, PostgreSQL on ${HOST_ADDRESS}, two API replicas serving after ${Date.now() - started} ms\n`);
}, 240000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await cluster?.down();
  server?.destroy();
});

test('two API replicas as a Swarm service on PostgreSQL survive the loss of the node that ran the leader', async () => {
  const leader = await eventually('a replica holding the lease', async () => (await leaderNode()) ?? undefined, 30000, 200);
  expect(API_NODES).toContain(leader.index);
  const survivor = cluster.node(API_NODES.find((index) => index !== leader.index) as number);
  // A token the leader issued, and containers created through both replicas.
  const token = await login(leader);
  // Through either replica, until one container runs on the leader's node (Swarm spreads them).
  const ids: string[] = [];
  let onLost = 0;
  for (let attempt = 0; attempt < 5 && (ids.length < 2 || onLost === 0); attempt++) {
    const id = await create(attempt % 2 === 0 ? leader : survivor, token, `before-${attempt}`);
    ids.push(id);
    const state = await eventually(`${id} running`, async () => {
      const s = await stateOn(attempt % 2 === 0 ? survivor : leader, token, id);
      return s.status === 'running' ? s : undefined;
    });
    if (state.node === leader.machineId) onLost++;
  }
  if (onLost === 0) throw new Error(`none of ${ids.length} containers landed on the leader's node ${leader.hostname}`);
  const { rows: [held] } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'boatload leader lease' AND host(client_addr) = $1", [leader.ip]);

  expect(held).toBeDefined();
  const crashedAt = Date.now();
  await cluster.crash(leader.index);
  // The lease's expiry: PostgreSQL ends the dead replica's session (its lock goes with it).
  let expiredAt = 0;
  const next = await eventually('the other replica holding the lease', async () => {
    if (!expiredAt && held) {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [held.pid]);
      if (rowCount === 0) expiredAt = Date.now();
    }
    // The dead replica's session may not be reaped yet: only the other replica counts.
    const node = await leaderNode();
    if (!node || node.index === leader.index) return undefined;
    // The session ended between this poll's two reads: it ended no later than now.
    if (!expiredAt) expiredAt = Date.now();
    return node;
  }, 30000, 100);
  const tookAt = Date.now();
  expect(next.index).toBe(survivor.index);
  process.stdout.write(`[cluster] node ${leader.index} (leader) crashed: lease expired after ${expiredAt - crashedAt} ms, taken by node ${survivor.index} ${tookAt - expiredAt} ms later\n`);
  expect(tookAt - expiredAt).toBeLessThan(5000);

  // The survivor answers with the token the dead replica issued, lists every container, and each
  // one's state is current: running on a node that is alive (Swarm moved those of the lost node).
  const converged = await eventually('every container listed and running on a live node', async () => {
    const listing = await call(survivor, '/v1/container/', { token });
    if (listing.status !== 200) throw new Error(`listing: ${listing.status} ${JSON.stringify(listing.body)}`);
    if (!ids.every((id) => listing.list.some((c) => c.id === id))) return undefined;
    const states = await Promise.all(ids.map((id) => stateOn(survivor, token, id)));
    return states.every((s) => s.status === 'running' && s.node !== leader.machineId && cluster.nodeOfMachine(s.node)) ? states : undefined;
  }, 60000, 200);
  const convergedMs = Date.now() - crashedAt;
  expect(converged).toHaveLength(ids.length);
  // The new leader converged every unit from the database (api/leader-duties.ts says so, with the time).
  const line = await eventually('the survivor converged as leader', async () => /leading: every unit converged from the store in \d+ ms/.exec(await replicaLog(survivor))?.[0], 30000, 500);
  process.stdout.write(`[cluster] ${ids.length} containers (${onLost} on the lost node) listed and running on live nodes ${convergedMs} ms after the crash; the survivor: "${line}"\n`);

  const fresh = await create(survivor, token, 'after-the-loss');
  const state = await eventually('the new container running', async () => {
    const s = await stateOn(survivor, token, fresh);
    return s.status === 'running' ? s : undefined;
  });
  expect(cluster.nodeOfMachine(state.node)?.index).not.toBe(leader.index);
  process.stdout.write(`[cluster] a create through the survivor running ${Date.now() - crashedAt} ms after the crash\n`);
  after = { survivor, token, id: fresh };
  lostNode = leader;
});

test('a replica that writes to a container through a node\'s satellite tells the other replicas (their inspection caches drop it)', async () => {
  if (!after) throw new Error('needs the first test\'s survivor');
  const { survivor, token, id } = after;
  // The notices travel on PostgreSQL's engine channel (api/store/postgres-change-feed.ts): listen as a replica would.
  const heard: string[] = [];
  const listener = new pg.Client({ connectionString: server.url });
  await listener.connect();
  try {
    listener.on('notification', (message) => {
      if (message.channel === ENGINE_CHANNEL && message.payload) heard.push(message.payload);
    });
    await listener.query(`LISTEN ${ENGINE_CHANNEL}`);
    const res = await call(survivor, `/v1/container/${id}/exec`, { method: 'POST', token, body: { cmd: ['/bin/true'] } });
    expect(res.status).toBe(200);
    // Published as soon as the node's satellite answered, before the API did; one round trip to be sure it arrived.
    await listener.query('SELECT 1');
    // The notice names the task's container as the satellite knows it (its engine id or name).
    const live = [...cluster.nodes.values()].filter((node) => node !== lostNode);
    const names = (await Promise.all(live.map((node) => node.docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=boatload-${id}`] } }).catch(() => [])))).flat().flatMap((c) => [c.Id, ...c.Names.map((n) => n.replace(/^\//, ''))]);
    expect(names.length).toBeGreaterThan(0);
    await eventually(`a notice naming one of ${names.join(', ')} (heard: ${heard.join(', ') || 'none'})`, async () => (heard.some((name) => names.includes(name)) ? true : undefined), 5000, 50);
  } finally {
    await listener.end();
  }
});
