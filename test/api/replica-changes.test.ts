/**
 * Cross-replica cache invalidation on the real PostgreSQL server (issue 17): two PostgresDatabase
 * objects on one database are two API replicas. A write committed by one moves the other's
 * generation (the listing cache's key) once caught up; writes that feed no cached answer (sessions)
 * do not; while a replica's change feed is down its generation moves on every read (nothing cached is
 * reused) and it comes back by itself; a container one replica wrote to is forgotten by the other's
 * inspection cache, and that cache keeps nothing while the feed is down.
 */
import pg from 'pg';
import { ListingCache } from '../../api/containers/listing-cache';
import { InspectionCache } from '../../api/satellite/inspection-cache';
import { PostgresDatabase } from '../../api/store/postgres-database';
import { CHANGE_FEED_APPLICATION, STORE_CHANNEL } from '../../api/store/postgres-change-feed';
import { SettingsRepository } from '../../api/store/settings';
import type { ContainerInspection } from '../../common/satellite-protocol';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

let database: TestDatabase;
let a: PostgresDatabase;
let b: PostgresDatabase;

beforeAll(async () => {
  database = await createTestDatabase('boatload_replica_changes');
  // Two replicas starting at once: the migrations and the triggers are made once, under the lock.
  [a, b] = await Promise.all([PostgresDatabase.open({ url: database.url, feedRetryMs: 100 }), PostgresDatabase.open({ url: database.url, feedRetryMs: 100 })]);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Ends every replica's listening session on the server (as a server restart would). */
async function cutFeeds(): Promise<number> {
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", [CHANGE_FEED_APPLICATION]);
    return killed.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

test('a write committed by one replica moves the other\'s generation once it caught up; a session write does not', async () => {
  await b.catchUp();
  const before = b.generation();
  expect(b.generation()).toBe(before);
  await new SettingsRepository(a).getOrCreate('replica_changes_probe', () => 'x');
  await b.catchUp();
  const after = b.generation();
  expect(after).toBeGreaterThan(before);
  expect(b.generation()).toBe(after);

  // A transaction's writes are heard at its commit, not before.
  let inside = 0;
  await a.transaction(async (tx) => {
    await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['replica_changes_tx', 'y']);
    await b.catchUp();
    inside = b.generation();
  });
  expect(inside).toBe(after);
  await b.catchUp();
  expect(b.generation()).toBeGreaterThan(after);

  // Sessions are touched on every request and feed no cached answer: they notify nobody.
  await b.catchUp();
  const quiet = b.generation();
  await a.run('INSERT INTO sessions (sid, data, expires_ms) VALUES (?, ?, ?)', ['sid-probe', '{}', Date.now() + 60000]);
  await b.catchUp();
  expect(b.generation()).toBe(quiet);
});

test('every table but the quiet ones notifies (a trigger on each)', async () => {
  const rows = await a.all<{ table: string }>(
    "SELECT c.relname AS table FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'boatload_notify_store' ORDER BY c.relname",
  );
  const tables = rows.map((row) => row.table);
  expect(tables).toEqual(expect.arrayContaining(['containers', 'units', 'users', 'operations', 'snapshots', 'volumes', 'settings', 'functions']));
  expect(tables).not.toContain('sessions');
  expect(tables).not.toContain('login_failures');
  expect(STORE_CHANNEL).toBe('boatload_store');
});

test('while the feed is down the generation moves on every read; the feed comes back by itself', async () => {
  await b.catchUp();
  expect(b.changes.isLive).toBe(true);
  expect(await cutFeeds()).toBe(2);
  await until(() => !b.changes.isLive, 5000);
  const first = b.generation();
  expect(b.generation()).not.toBe(first);
  // A write made while it is down is not lost to the cache: it is reused by nobody meanwhile.
  await new SettingsRepository(a).getOrCreate('replica_changes_while_down', () => 'z');
  await until(() => b.changes.isLive, 5000);
  await b.catchUp();
  const settled = b.generation();
  expect(b.generation()).toBe(settled);
  await new SettingsRepository(a).getOrCreate('replica_changes_after', () => 'w');
  await b.catchUp();
  expect(b.generation()).toBeGreaterThan(settled);
});

function inspection(name: string, status: string): ContainerInspection {
  return { engineId: `id-${name}`, name, image: 'boatload/base:latest', created: '', labels: {}, state: { Status: status } as ContainerInspection['state'] };
}

test('a container one replica wrote to is forgotten by the other\'s inspection cache; a feed that is down keeps nothing', async () => {
  const cache = new InspectionCache();
  cache.setLive(true);
  b.engineChanges().subscribe({ changed: (container) => cache.forget(container), live: (live) => cache.setReplicasLive(live) });
  let status = 'running';
  let reads = 0;
  const fetch = async (): Promise<ContainerInspection> => (reads++, inspection('web', status));
  await cache.read('web', fetch);
  await cache.read('web', fetch);
  expect(reads).toBe(1);

  // Replica a stops it and says so.
  status = 'exited';
  a.engineChanges().publish('web');
  const deadline = Date.now() + 5000;
  while ((await cache.read('web', fetch))?.state.Status !== 'exited') {
    if (Date.now() > deadline) throw new Error('the other replica\'s write was never heard');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const afterHeard = reads;
  await cache.read('web', fetch);
  expect(reads).toBe(afterHeard);

  // The feed is cut: every read goes to the engine until it is back.
  await cutFeeds();
  await until(() => !b.changes.isLive, 5000);
  await cache.read('web', fetch);
  await cache.read('web', fetch);
  expect(reads).toBe(afterHeard + 2);
  await until(() => b.changes.isLive, 5000);
  await cache.read('web', fetch);
  await cache.read('web', fetch);
  expect(reads).toBe(afterHeard + 3);
});

test('a listing cached on one replica shows a write another replica acknowledged, at once', async () => {
  const listings = new ListingCache(
    () => b.generation(),
    () => b.catchUp(),
  );
  const render = async (): Promise<string> => JSON.stringify((await b.all<{ key: string }>("SELECT key FROM settings WHERE key LIKE 'listing_%' ORDER BY key")).map((row) => row.key));
  for (let i = 0; i < 20; i++) {
    await listings.get('all', render);
    // Acknowledged by replica a (committed) ...
    await a.run('INSERT INTO settings (key, value) VALUES (?, ?)', [`listing_${String(i).padStart(2, '0')}`, 'v']);
    // ... and read on replica b right away: no stale listing.
    const listed = JSON.parse((await listings.get('all', render)).toString()) as string[];
    expect(listed).toContain(`listing_${String(i).padStart(2, '0')}`);
  }
});
