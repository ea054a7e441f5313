/**
 * The leader lease on the real PostgreSQL server: one holder at a time; when the holder's session
 * ends (its replica died: here its backend is terminated on the server), the holder is told at once
 * and another replica takes the lease within 5 s.
 */
import pg from 'pg';
import { LEADER_LOCK, LeaderLease } from '../../api/store/leader-lease';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

interface Replica {
  name: string;
  lease: LeaderLease;
  events: string[];
}

let database: TestDatabase;
const replicas: Replica[] = [];

beforeAll(async () => {
  database = await createTestDatabase('boatload_leader_lease');
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.lease.stop()));
  await database.drop();
});

function replica(name: string): Replica {
  const events: string[] = [];
  const lease = new LeaderLease({
    url: database.url,
    retryMs: 200,
    onAcquired: () => events.push('acquired'),
    onLost: (reason) => events.push(`lost: ${reason}`),
  });
  const r = { name, lease, events };
  replicas.push(r);
  return r;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('one leader at a time; when its session ends it is told, and another takes over within 5 s', async () => {
  const a = replica('a');
  const b = replica('b');
  const c = replica('c');
  a.lease.start();
  await until(() => a.lease.isLeader, 5000);
  b.lease.start();
  c.lease.start();
  // Several tries later, still exactly one leader.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect([a, b, c].filter((r) => r.lease.isLeader).map((r) => r.name)).toEqual(['a']);

  // The leader's replica dies: its session is cut on the server.
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1",
      [LEADER_LOCK.toString()],
    );
    expect(killed.rowCount).toBe(1);
  } finally {
    await admin.end();
  }
  await until(() => a.events.some((e) => e.startsWith('lost')), 5000);
  expect(a.lease.isLeader).toBe(false);
  // Within 5 s (issue 17), or `until` fails.
  await until(() => [a, b, c].some((r) => r.lease.isLeader), 5000);
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect([a, b, c].filter((r) => r.lease.isLeader)).toHaveLength(1);

  // A leader that stops gives the lease up for the others.
  const leader = [a, b, c].find((r) => r.lease.isLeader) as Replica;
  await leader.lease.stop();
  await until(() => [a, b, c].some((r) => r !== leader && r.lease.isLeader), 5000);
  expect([a, b, c].filter((r) => r.lease.isLeader)).toHaveLength(1);
});
