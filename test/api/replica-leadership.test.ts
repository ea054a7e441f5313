/**
 * Leadership across API replicas on the real PostgreSQL server (issue 17): two schedulers (two
 * replicas) share one unit store and one host (the scheduler's own-port fakes, test/units/scheduler/
 * fakes.ts), each with the real lease, the real per-unit locks and the real LeaderDuties. The leader
 * converges from the store; when its lease is lost it begins no action on the engine after that
 * moment, and the other replica takes the lead within 5 s and converges every unit, each container
 * made once. Work a request asks for runs on a replica that does not lead; the unit locks keep two
 * replicas' work on one unit apart.
 */
import pg from 'pg';
import { capturingLogger } from '../../common/logger';
import { LeaderDuties } from '../../api/leader-duties';
import { LEADER_LOCK, LeaseLeadership } from '../../api/store/leader-lease';
import { PostgresUnitLocks } from '../../api/store/postgres-unit-locks';
import { containerSpecFromUnit } from '../../units/container-unit';
import type { HostAgent } from '../../units/scheduler/host-agent';
import { LocalBackend } from '../../units/scheduler/local-backend';
import { Scheduler } from '../../units/scheduler/scheduler';
import { parseUnitFile, unitHash } from '../../units/unit-file';
import { FakeHost, INSTANCE_LABEL, MemoryUnitStore, unitFile } from '../units/scheduler/fakes';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

let database: TestDatabase;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  database = await createTestDatabase('boatload_replica_leadership');
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await database?.drop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface Call {
  replica: string;
  call: string;
  at: number;
}

/**
 * The host as one replica's satellite client reaches it: every call recorded with the replica's name
 * and slowed by `delayMs` (a slow engine, injected so that a reconcile is still under way when the
 * lease goes; the calls themselves are the FakeHost's).
 */
function slowAgent(host: FakeHost, replica: string, calls: Call[], delayMs: number): HostAgent {
  return new Proxy(host, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const first = args[0] as { spec?: { name?: string } } | string | undefined;
        const name = typeof first === 'string' ? first : (first?.spec?.name ?? '');
        calls.push({ replica, call: `${String(property)} ${name}`, at: performance.now() });
        await sleep(delayMs);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function replica(name: string, host: FakeHost, store: MemoryUnitStore, calls: Call[], options: { diesOnLoss?: boolean } = {}) {
  const [key, value] = INSTANCE_LABEL.split('=') as [string, string];
  const events: Array<{ leader: boolean; at: number }> = [];
  const leadership: LeaseLeadership = new LeaseLeadership({
    url: database.url,
    retryMs: 200,
    onChange: (leader) => {
      events.push({ leader, at: performance.now() });
      // A replica that died does not try for the lease again (its process is gone).
      if (!leader && options.diesOnLoss) void leadership.stop();
    },
  });
  const unitLocks = new PostgresUnitLocks({ url: database.url });
  const logger = capturingLogger(name);
  const scheduler = new Scheduler({
    store,
    backend: new LocalBackend({ agent: slowAgent(host, name, calls, 15), instanceLabel: INSTANCE_LABEL, stopTimeoutSeconds: 1 }),
    workloadOf: async (unit) => {
      const spec = containerSpecFromUnit(unit.options, unit.name);
      spec.labels = { ...spec.labels, [key]: value };
      return { spec };
    },
    logger,
    leadership,
    unitLocks,
  });
  const duties = new LeaderDuties({ leadership, warm: null, scheduler, periodic: [], stateSyncIntervalMs: 500, logger });
  const started = {
    name,
    leadership,
    scheduler,
    events,
    start: () => {
      leadership.start();
      duties.start();
    },
  };
  const close = async (): Promise<void> => {
    await duties.stop();
    scheduler.stopSync();
    await scheduler.idle();
    await leadership.stop();
    await unitLocks.close();
  };
  closers.push(close);
  return { ...started, close };
}

async function addUnit(scheduler: Scheduler, name: string): Promise<void> {
  const options = parseUnitFile(unitFile(name));
  await scheduler.add({ name: `${name}.service`, options, hash: unitHash(options), desiredState: 'launched', engineName: containerSpecFromUnit(options, `${name}.service`).name });
}

async function terminateLeaseHolder(): Promise<void> {
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
}

test('a leader that loses its lease begins no engine action after that; the other takes over within 5 s and converges every unit once', async () => {
  const host = new FakeHost();
  const store = new MemoryUnitStore();
  const calls: Call[] = [];
  const a = replica('a', host, store, calls, { diesOnLoss: true });
  const b = replica('b', host, store, calls);
  const units = Array.from({ length: 40 }, (_, i) => `lead${String(i).padStart(2, '0')}`);
  for (const unit of units) await addUnit(a.scheduler, unit);

  a.start();
  await until(() => a.leadership.isLeader(), 5000);
  b.start();
  // The leader's reconcile is under way: some containers made, most not yet.
  await until(() => host.containers.size >= 6, 10000);
  await terminateLeaseHolder();
  await until(() => a.events.some((e) => !e.leader), 5000);
  const lostAt = (a.events.find((e) => !e.leader) as { at: number }).at;
  expect(a.leadership.isLeader()).toBe(false);

  await until(() => b.leadership.isLeader(), 5000);
  const tookOverAt = (b.events.find((e) => e.leader) as { at: number }).at;
  // Converged from the store by the new leader.
  await until(async () => (await Promise.all(units.map(async (u) => (await store.get(`${u}.service`))?.observed?.status))).every((status) => status === 'running'), 15000);
  const convergedAt = performance.now();
  await a.scheduler.idle();
  await b.scheduler.idle();

  // The old leader began acting on no unit after it lost the lease: every unit it touched after that
  // moment is one whose work had already begun before (an engine call in flight is not taken back).
  const firstCallOf = new Map<string, number>();
  for (const call of calls.filter((c) => c.replica === 'a' && !c.call.startsWith('machine'))) {
    const unit = call.call.split(' ')[1];
    if (!firstCallOf.has(unit)) firstCallOf.set(unit, call.at);
  }
  const begunAfterLoss = [...firstCallOf].filter(([, at]) => at > lostAt).map(([unit]) => unit);
  expect(begunAfterLoss).toEqual([]);
  expect(firstCallOf.size).toBeLessThan(units.length);
  // Every unit's container made exactly once (no replica made one another had made).
  const creates = calls.filter((c) => c.call.startsWith('create '));
  expect(new Set(creates.map((c) => c.call)).size).toBe(units.length);
  expect(creates).toHaveLength(units.length);
  expect(host.containers.size).toBe(units.length);
  console.log(
    `leader lost its lease → other replica leads after ${Math.round(tookOverAt - lostAt)} ms; all ${units.length} units running ${Math.round(convergedAt - lostAt)} ms after the loss`,
  );
  expect(tookOverAt - lostAt).toBeLessThan(5000);
  await a.close();
  await b.close();
});

test('work a request asks for runs on a replica that does not lead; the unit locks keep two replicas\' work on one unit apart', async () => {
  const host = new FakeHost();
  const store = new MemoryUnitStore();
  const calls: Call[] = [];
  const c = replica('c', host, store, calls);
  const d = replica('d', host, store, calls);
  await addUnit(c.scheduler, 'shared');
  c.start();
  d.start();
  await until(() => c.leadership.isLeader() || d.leadership.isLeader(), 5000);
  await c.scheduler.idle();
  await d.scheduler.idle();
  const follower = c.leadership.isLeader() ? d : c;
  const leader = follower === c ? d : c;
  expect(follower.leadership.isLeader()).toBe(false);

  // A user's stop reaches the replica that does not lead: it acts.
  calls.length = 0;
  expect((await follower.scheduler.stop('shared.service')).observed?.status).toBe('exited');
  expect(calls.filter((call) => call.call === 'stop shared').map((call) => call.replica)).toEqual([follower.name]);

  // A start on one replica and a stop on the other at once: one after the other, never interleaved,
  // and the unit ends as the later one left it.
  for (let round = 0; round < 4; round++) {
    calls.length = 0;
    const finished: string[] = [];
    await Promise.all([
      follower.scheduler.start('shared.service').then(() => finished.push('start')),
      leader.scheduler.stop('shared.service').then(() => finished.push('stop')),
    ]);
    const byReplica = calls.filter((call) => call.call.endsWith(' shared')).map((call) => call.replica);
    const switches = byReplica.filter((r, i) => i > 0 && r !== byReplica[i - 1]).length;
    expect(switches).toBeLessThanOrEqual(1);
    expect(host.containers.get('shared')?.state.Status).toBe(finished[1] === 'start' ? 'running' : 'exited');
  }
  await c.close();
  await d.close();
});

test('a unit lock another replica holds is waited for, other units are not; a replica that dies frees its locks', async () => {
  const first = new PostgresUnitLocks({ url: database.url });
  const second = new PostgresUnitLocks({ url: database.url });
  closers.push(() => first.close(), () => second.close());
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const order: string[] = [];
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const one = first.hold('x.service', async () => {
    order.push('first in');
    entered();
    await held;
    order.push('first out');
  });
  await inside;
  const waiting = second.hold('x.service', async () => void order.push('second in'));
  await second.hold('y.service', async () => void order.push('other unit'));
  await sleep(300);
  expect(order).toEqual(['first in', 'other unit']);
  release();
  await Promise.all([one, waiting]);
  expect(order).toEqual(['first in', 'other unit', 'first out', 'second in']);

  // The holder's session ends (its replica died): the lock is free for the others at once.
  let releaseAgain!: () => void;
  const heldAgain = new Promise<void>((resolve) => (releaseAgain = resolve));
  let enteredAgain!: () => void;
  const insideAgain = new Promise<void>((resolve) => (enteredAgain = resolve));
  const orphan = first.hold('z.service', async () => {
    enteredAgain();
    await heldAgain;
  });
  await insideAgain;
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'boatload unit locks' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (hashtextextended('boatload-unit:z.service', 0) & 4294967295)::oid)");
  await admin.end();
  const started = Date.now();
  await second.hold('z.service', async () => undefined);
  expect(Date.now() - started).toBeLessThan(5000);
  releaseAgain();
  await orphan;
});
