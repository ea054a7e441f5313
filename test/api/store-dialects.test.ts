/**
 * The store's repositories on both dialects: the embedded SQLite file and the real PostgreSQL server
 * (started by the test preparation; see test/support/postgres.ts). The same assertions run on each,
 * so a query that one dialect reads differently fails here. PostgreSQL also gets the start-up cases
 * of several replicas: migrations under the advisory lock, settings created once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../api/store/database';
import { LoginFailureRepository } from '../../api/store/login-failures';
import { MachineMetadataRepository } from '../../api/store/machine-metadata';
import { OperationRepository } from '../../api/store/operations';
import { SnapshotRepository } from '../../api/store/snapshots';
import { VolumeRepository } from '../../api/store/volumes';
import { PostgresDatabase } from '../../api/store/postgres-database';
import { POSTGRES_MIGRATIONS } from '../../api/store/postgres-schema';
import { QuotaRepository } from '../../api/store/quotas';
import { StoreSessionStore } from '../../api/store/session-store';
import { SettingsRepository } from '../../api/store/settings';
import type { SqlDatabase } from '../../api/store/sql';
import { SqliteDatabase } from '../../api/store/sqlite-database';
import { UserRepository } from '../../api/store/users';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { OVER_LIMIT } from '../../api/store/over-limit';
import { FunctionRepository } from '../../api/store/functions';
import { ContainerRepository, type NewContainer } from '../../api/store/containers';
import { SqlUnitStore } from '../../api/store/units';
import type { EngineObservation, EngineStatus, UnitRecord } from '../../units/scheduler/model';
import { systemdStateOf } from '../../units/scheduler/unit-status';
import { unitRecord } from '../support/unit-records';
import { enabledAsyncStorages } from '../support/async-storages';

const UNIT_TEXT = '[Service]\nExecStart=/usr/bin/docker run boatload/base:latest sleep 1\n';
const unit = (name: string, patch: Partial<UnitRecord> = {}): UnitRecord => unitRecord(name, UNIT_TEXT, patch);
const seen = (status: EngineStatus): EngineObservation => ({ status, exitCode: null, error: null, observedAt: '2026-01-01T00:00:00.000Z' });
const container = (i: number, owner = 'ann', hostname: string | null = null): NewContainer => ({
  id: `${i}`.padStart(32, '0'),
  owner,
  image: 'boatload/base:latest',
  unitName: `${`${i}`.padStart(32, '0')}.service`,
  request: { image_name: 'boatload/base', image_tag: 'latest', scriptname: 'run.sh', scripturl: null, dataurl: null, datapath: null, container_args: ['a'], env: { K: 'é' }, permanent: false, hostname },
});

interface Opened {
  db: SqlDatabase;
  /** Another replica's connection to the same store (PostgreSQL); SQLite: the process's one connection. */
  other(): Promise<SqlDatabase>;
  close(): Promise<void>;
}

const dialects: Array<[string, () => Promise<Opened>]> = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'boatload-store-dialects-'));
      const path = join(dir, 'store.sqlite3');
      const opened: SqlDatabase[] = [new SqliteDatabase(openDatabase(path))];
      return {
        db: opened[0],
        // A process has one connection to the file, and its transactions never wait on anything but
        // their own statements: a second connection in the same process would block the thread in
        // SQLite's busy handler while the first one's transaction waits for that thread. So the
        // concurrency here is the one connection's, across awaits.
        other: async () => opened[0],
        close: async () => {
          for (const db of opened) await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const database: TestDatabase = await createTestDatabase('boatload_store_dialects');
      const opened: SqlDatabase[] = [await PostgresDatabase.open({ url: database.url })];
      return {
        db: opened[0],
        other: async () => {
          const db = await PostgresDatabase.open({ url: database.url });
          opened.push(db);
          return db;
        },
        close: async () => {
          for (const db of opened) await db.close();
          await database.drop();
        },
      };
    },
  ],
];

describe.each(dialects)('the store on %s', (dialect, open) => {
  let store: Opened;
  let db: SqlDatabase;
  beforeEach(async () => {
    store = await open();
    db = store.db;
  });
  afterEach(async () => {
    await store.close();
  });

  test('speaks its dialect', () => {
    expect(db.dialect).toBe(dialect);
  });

  test('users: insert once per name, find, list, count, new credentials on password change, delete', async () => {
    const users = new UserRepository(db);
    expect(await users.insert({ username: 'ann', password: 'h1', isAdmin: true })).toBe(true);
    expect(await users.insert({ username: 'ann', password: 'other', isAdmin: false })).toBe(false);
    expect(await users.insert({ username: 'bob', password: 'h2', isAdmin: false })).toBe(true);
    const ann = await users.find('ann');
    expect(ann).toMatchObject({ username: 'ann', password: 'h1', isAdmin: true });
    expect(ann?.credentialId).toMatch(/^[0-9a-f]{32}$/);
    expect((await users.list()).map((u) => [u.username, u.isAdmin])).toEqual([['ann', true], ['bob', false]]);
    expect(await users.count()).toBe(2);
    await users.setPassword('ann', 'h3');
    const changed = await users.find('ann');
    expect(changed?.password).toBe('h3');
    expect(changed?.credentialId).not.toBe(ann?.credentialId);
    expect(await users.renewCredentials('ann')).toBe(true);
    expect((await users.find('ann'))?.credentialId).not.toBe(changed?.credentialId);
    expect(await users.renewCredentials('nobody')).toBe(false);
    expect(await users.delete('bob')).toBe(true);
    expect(await users.delete('bob')).toBe(false);
    expect(await users.find('bob')).toBeUndefined();
  });

  test('settings: the first value stored wins, also between two replicas', async () => {
    const settings = new SettingsRepository(db);
    const other = new SettingsRepository(await store.other());
    const [a, b] = await Promise.all([settings.getOrCreate('jwt_secret', () => 'first'), other.getOrCreate('jwt_secret', () => 'second')]);
    expect(a).toBe(b);
    expect(await settings.get('jwt_secret')).toBe(a);
    expect(await settings.get('missing')).toBeUndefined();
  });

  test('login failures: counted per key up to the limit, released, swept; epoch milliseconds read back as numbers', async () => {
    const failures = new LoginFailureRepository(db);
    const nowMs = 1_800_000_000_000;
    const keys = [
      { key: 'user:ann', limit: 2 },
      { key: 'addr:1.1.1.1', limit: 5 },
    ];
    expect(await failures.reserve({ keys, nowMs, windowMs: 60_000 })).toEqual({ reserved: true });
    expect(await failures.reserve({ keys, nowMs: nowMs + 1000, windowMs: 60_000 })).toEqual({ reserved: true });
    expect(await failures.reserve({ keys, nowMs: nowMs + 2000, windowMs: 60_000 })).toEqual({ reserved: false, key: 'user:ann', retryAfterMs: 58_000 });
    await failures.release({ key: 'addr:1.1.1.1', nowMs: nowMs + 3000, windowMs: 60_000 });
    await failures.clear('user:ann');
    expect(await failures.count()).toBe(1);
    expect(await failures.sweep({ nowMs: nowMs + 60_000, windowMs: 60_000 })).toBe(1);
    expect(await failures.count()).toBe(0);
  });

  test('login failures: concurrent reservations (two replicas on PostgreSQL) never count past the limit', async () => {
    const connections = [new LoginFailureRepository(db), new LoginFailureRepository(await store.other())];
    const keys = [{ key: 'user:target', limit: 5 }];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (connections[i % 2]).reserve({ keys, nowMs: 1000, windowMs: 60_000 })));
    expect(results.filter((r) => r.reserved)).toHaveLength(5);
    expect(await db.get<{ failures: number }>('SELECT failures FROM login_failures WHERE key = ?', ['user:target'])).toEqual({ failures: 5 });
  });

  test('quotas: overrides set, replaced and deleted; big byte counts kept exactly', async () => {
    const quotas = new QuotaRepository(db);
    expect(await quotas.find('ann')).toEqual({});
    await quotas.set('ann', { containers: 3, volumeBytes: 5 * 2 ** 40 });
    expect(await quotas.find('ann')).toEqual({ containers: 3, volumes: null, snapshots: null, containerDiskBytes: null, volumeBytes: 5 * 2 ** 40 });
    await quotas.set('ann', { snapshots: 0 });
    expect(await quotas.find('ann')).toEqual({ containers: null, volumes: null, snapshots: 0, containerDiskBytes: null, volumeBytes: null });
    await quotas.delete('ann');
    expect(await quotas.find('ann')).toEqual({});
  });

  test('machine metadata: edits applied all together, a later edit replaces', async () => {
    const metadata = new MachineMetadataRepository(db);
    await metadata.apply([
      { machineId: 'm1', key: 'region', value: 'eu' },
      { machineId: 'm1', key: 'disk', value: null },
      { machineId: 'm2', key: 'region', value: 'us' },
    ]);
    await metadata.apply([{ machineId: 'm1', key: 'region', value: 'asia' }]);
    expect([...(await metadata.editsFor('m1'))].sort()).toEqual([
      ['disk', null],
      ['region', 'asia'],
    ]);
  });

  test('sessions: stored, read, expired, and destroyed per user', async () => {
    const sessions = new StoreSessionStore(db);
    const call = <T>(fn: (done: (err: unknown, value?: T) => void) => void): Promise<T | undefined> =>
      new Promise((resolve, reject) => fn((err, value) => (err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(value))));
    const cookie = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms) });
    await call((done) => sessions.set('s1', { cookie: cookie(60_000), passport: { user: 'ann' } } as never, done));
    await call((done) => sessions.set('s2', { cookie: cookie(60_000), passport: { user: 'bob' } } as never, done));
    await call((done) => sessions.set('s3', { cookie: cookie(-1000), passport: { user: 'bob' } } as never, done));
    expect(await call((done) => sessions.get('s1', done))).toMatchObject({ passport: { user: 'ann' } });
    expect(await call((done) => sessions.get('s3', done))).toBeNull();
    await sessions.destroyForUser('ann');
    expect(await call((done) => sessions.get('s1', done))).toBeNull();
    expect(await call((done) => sessions.get('s2', done))).toMatchObject({ passport: { user: 'bob' } });
    await call((done) => sessions.destroy('s2', done));
    expect(await call((done) => sessions.get('s2', done))).toBeNull();
  });

  test('operations: pending on insert, updated, listed newest first, counted by status, failed when unfinished at start-up', async () => {
    const operations = new OperationRepository(db);
    const first = await operations.insert({ id: 'a'.repeat(32), owner: 'ann', kind: 'start', target: '/v1/container/x/' });
    expect(first).toMatchObject({ status: 'pending', result: null, error: null });
    expect(await operations.find(first.id)).toEqual(first);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await operations.insert({ id: 'b'.repeat(32), owner: 'bob', kind: 'fork', target: '/v1/container/y/' });
    await operations.update(first.id, { status: 'succeeded', result: { container: { id: 'x' } } });
    expect(await operations.find(first.id)).toMatchObject({ status: 'succeeded', result: { container: { id: 'x' } } });
    expect((await operations.list(undefined, 10)).map((o) => o.owner)).toEqual(['bob', 'ann']);
    expect((await operations.list('ann', 10)).map((o) => o.id)).toEqual([first.id]);
    expect(await operations.countByStatus()).toEqual({ pending: 1, succeeded: 1 });
    expect(await operations.failUnfinished('interrupted')).toBe(1);
    expect(await operations.find('b'.repeat(32))).toMatchObject({ status: 'failed', error: 'interrupted' });
    await operations.deleteOwnedBy('ann');
    expect(await operations.find(first.id)).toBeUndefined();
  });

  test('volumes: one name per owner, found by id and name; concurrent creates (two replicas on PostgreSQL) never pass the limit', async () => {
    const volumes = [new VolumeRepository(db), new VolumeRepository(await store.other())];
    const volume = (i: number, name = `v${i}`) => ({ id: `${i}`.padStart(32, '0'), owner: 'ann', name, engineName: `boatload-vol-${i}`, machineId: 'm1' });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (volumes[i % 2]).insertWithinLimit(volume(i), 4)));
    expect(results.filter((r) => r !== null && r !== OVER_LIMIT)).toHaveLength(4);
    expect(results.filter((r) => r === OVER_LIMIT)).toHaveLength(8);
    const repo = volumes[0];
    expect(await repo.countOwnedBy('ann')).toBe(4);
    const [kept] = await repo.list('ann');
    expect(await repo.insert({ ...volume(99), name: kept?.name ?? '' })).toBeNull();
    expect(await repo.findByName('ann', kept?.name ?? '')).toEqual(kept);
    expect(await repo.find(kept?.id ?? '')).toEqual(kept);
    expect(await repo.delete(kept?.id ?? '')).toBe(true);
    expect(await repo.countOwnedBy('ann')).toBe(3);
  });

  test('snapshots: the script bytes and arguments kept; concurrent takes (two replicas on PostgreSQL) never pass the limit', async () => {
    const snapshots = [new SnapshotRepository(db), new SnapshotRepository(await store.other())];
    const script = Buffer.from([0, 1, 2, 255, 10]);
    const snapshot = (i: number) => ({ id: `${i}`.padStart(32, '0'), owner: 'ann', containerId: 'c'.repeat(32), name: null, image: `boatload/snapshot:${i}`, imageId: 'sha256:x', size: 3 * 2 ** 32, machineId: null, script, scriptname: 'run.sh', args: ['a', 'b c'] });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (snapshots[i % 2]).insertWithinLimit(snapshot(i), 3)));
    expect(results.filter((r) => r !== OVER_LIMIT)).toHaveLength(3);
    expect(results.filter((r) => r === OVER_LIMIT)).toHaveLength(7);
    const repo = snapshots[0];
    const [first] = await repo.list('ann');
    expect(first).toMatchObject({ owner: 'ann', size: 3 * 2 ** 32, scriptname: 'run.sh', args: ['a', 'b c'] });
    expect(await repo.script(first?.id ?? '')).toEqual(script);
    expect(await repo.countOwnedBy('ann')).toBe(3);
    expect(await repo.delete(first?.id ?? '')).toBe(true);
    expect(await repo.find(first?.id ?? '')).toBeUndefined();
  });

  test('functions: one name per owner, found, listed per owner, deleted; the definition kept as given', async () => {
    const functions = new FunctionRepository(db);
    const definition = { imageName: 'boatload/base', imageTag: 'latest', script: null, cmd: ['echo', 'a b'], env: { A: 'é' }, timeoutSeconds: 30, memory: 2 ** 33, cpus: 0.5, minWarm: 0, maxWarm: 2, maxConcurrency: 4, idleTimeoutSeconds: 300 };
    const created = new Date().toISOString();
    expect(await functions.insert({ owner: 'ann', name: 'f', definition, created })).toBe(true);
    expect(await functions.insert({ owner: 'ann', name: 'f', definition: { ...definition, cmd: ['other'] }, created })).toBe(false);
    expect(await functions.insert({ owner: 'bob', name: 'f', definition, created })).toBe(true);
    expect(await functions.insert({ owner: 'ann', name: 'g', definition, created })).toBe(true);
    expect(await functions.find('ann', 'f')).toEqual({ owner: 'ann', name: 'f', definition, created });
    expect((await functions.list('ann')).map((f) => f.name)).toEqual(['f', 'g']);
    expect((await functions.list()).map((f) => `${f.owner}/${f.name}`)).toEqual(['ann/f', 'ann/g', 'bob/f']);
    expect(await functions.delete('ann', 'f')).toBe(true);
    expect(await functions.delete('ann', 'f')).toBe(false);
    expect(await functions.find('ann', 'f')).toBeUndefined();
    expect(await functions.find('bob', 'f')).toBeDefined();
  });

  test('containers: concurrent creates (two replicas on PostgreSQL) never pass the limit nor share a hostname; script bytes kept', async () => {
    const containers = [new ContainerRepository(db), new ContainerRepository(await store.other())];
    const script = Buffer.from([0x23, 0x21, 0, 255, 10]);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => containers[i % 2].insertWithinLimit({ record: container(i), script, limit: 5 })));
    expect(results.filter((r) => r !== OVER_LIMIT)).toHaveLength(5);
    expect(results.filter((r) => r === OVER_LIMIT)).toHaveLength(7);
    const repo = containers[0];
    expect(await repo.countOwnedBy('ann')).toBe(5);
    // The same hostname from two replicas at once: exactly one create lands, the other is a 409.
    const named = await Promise.allSettled([containers[0].insertWithinLimit({ record: container(20, 'bob', 'db'), script: null, limit: 0 }), containers[1].insertWithinLimit({ record: container(21, 'bob', 'db'), script: null, limit: 0 })]);
    expect(named.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(named.filter((r) => r.status === 'rejected').map((r) => (r).reason as Error)).toEqual([expect.objectContaining({ message: expect.stringMatching(/hostname "db"/) })]);
    expect(await repo.hostnameTaken('bob', 'db')).toBe(true);
    expect(await repo.hostnameTaken('ann', 'db')).toBe(false);
    const [first] = await repo.list('ann');
    expect(first?.request).toMatchObject({ env: { K: 'é' }, container_args: ['a'] });
    expect(await repo.find(first?.id ?? '')).toEqual(first);
    expect(await repo.findByUnit(first?.unitName ?? '')).toEqual(first);
    expect(await repo.script(first?.id ?? '')).toEqual(script);
    expect((await repo.list()).map((c) => c.owner)).toEqual([...Array(5).fill('ann'), 'bob']);
    // Lifetimes: only the one with a ttl expires.
    const timed = await repo.insertWithinLimit({ record: container(30, 'dave'), script: null, limit: 0, ttlSeconds: 60 });
    if (timed === OVER_LIMIT) throw new Error('no limit was given');
    expect(await repo.expired(new Date(Date.parse(timed.created) + 59_999), 10)).toEqual([]);
    expect((await repo.expired(new Date(Date.parse(timed.created) + 60_000), 10)).map((c) => c.id)).toEqual([timed.id]);
    // The listing joins each container's unit.
    const units = new SqlUnitStore(db);
    await units.insert(unit(first?.unitName ?? '', { desiredState: 'launched', everStarted: true, machineId: 'm1', containerId: first?.id ?? null }));
    expect(await repo.listWithUnits('ann')).toEqual([{ ...first, unit: { desiredState: 'launched', observed: null, reason: null, everStarted: true, machineId: 'm1' } }]);
    expect(await repo.delete(first?.id ?? '')).toBe(true);
    expect(await repo.delete(first?.id ?? '')).toBe(false);
    expect(await repo.countOwnedBy('ann')).toBe(4);
  });

  test('containers: a record and its unit land in one transaction (a unit that cannot be inserted takes the record with it)', async () => {
    const containers = new ContainerRepository(db);
    const first = container(40, 'erin');
    const firstUnit = unit(first.unitName, { desiredState: 'launched', containerId: first.id });
    expect(await containers.insertWithinLimit({ record: first, script: null, limit: 0, unit: firstUnit })).toMatchObject({ id: first.id });
    expect(await new SqlUnitStore(db).get(first.unitName)).toEqual(firstUnit);
    expect((await containers.listWithUnits('erin')).map((c) => [c.id, c.unit.desiredState])).toEqual([[first.id, 'launched']]);
    // Its unit's name is taken: the unit insert fails, and the record inserted before it is rolled back.
    const second = container(41, 'erin');
    await expect(containers.insertWithinLimit({ record: second, script: null, limit: 0, unit: firstUnit })).rejects.toHaveProperty('message', expect.stringMatching(/UNIQUE constraint failed|duplicate key value/));
    expect(await containers.find(second.id)).toBeUndefined();
    expect(await containers.countOwnedBy('erin')).toBe(1);
  });

  test('units: inserted, read back whole, filtered, paged with their systemd state, looked up by engine name, updated', async () => {
    const units = new SqlUnitStore(db);
    const observed: EngineObservation = { ...seen('exited'), exitCode: 3, error: 'boom', ports: [{ port: 80, protocol: 'tcp', host_ip: '10.0.0.1', host_port: 32768 }] };
    await units.insert(unit('a.service', { desiredState: 'launched', currentState: 'launched', machineId: 'm1', observed, everStarted: true, containerId: 'c1' }));
    await units.insert(unit('b.service', { desiredState: 'launched' }));
    await units.insert(unit('c.service', { desiredState: 'inactive', currentState: 'inactive', observed: seen('missing') }));
    await units.insert(unit('d.service', { desiredState: 'loaded', currentState: 'loaded', machineId: 'm2', observed: seen('created') }));
    expect(await units.get('a.service')).toEqual(unit('a.service', { desiredState: 'launched', currentState: 'launched', machineId: 'm1', observed, everStarted: true, containerId: 'c1' }));
    const names = (list: Array<{ name: string }>): string[] => list.map((u) => u.name);
    expect(names(await units.list())).toEqual(['a.service', 'b.service', 'c.service', 'd.service']);
    expect(names(await units.list({ wanted: true }))).toEqual(['a.service', 'b.service', 'd.service']);
    expect(names(await units.list({ wanted: true, placed: false }))).toEqual(['b.service']);
    expect(await units.listWatched()).toEqual([
      { name: 'a.service', engineName: 'a', machineId: 'm1', observed },
      { name: 'b.service', engineName: 'b', machineId: null, observed: null },
      { name: 'd.service', engineName: 'd', machineId: 'm2', observed: seen('created') },
    ]);
    const all = await units.list();
    expect(names(await units.page({ offset: 0, limit: 10, withSystemdState: true }))).toEqual(names(all.filter((u) => systemdStateOf(u) !== null)));
    expect(names(await units.page({ offset: 1, limit: 2 }))).toEqual(['b.service', 'c.service']);
    expect(names(await units.page({ offset: 0, limit: 10, withSystemdState: true, machineId: 'm2' }))).toEqual(['d.service']);
    expect(await units.unitUsingEngineName('a', 'x.service')).toBe('a.service');
    expect(await units.unitUsingEngineName('a', 'a.service')).toBeUndefined();
    await units.update('b.service', { machineId: 'm1', everStarted: true, reason: null, observed: seen('running') });
    expect(await units.get('b.service')).toMatchObject({ machineId: 'm1', everStarted: true, observed: seen('running') });
    expect(await units.delete('c.service')).toBe(true);
    expect(await units.delete('c.service')).toBe(false);
  });

  test('units: updateMany is one transaction (all or none)', async () => {
    const units = new SqlUnitStore(db);
    await units.insert(unit('a.service', { desiredState: 'launched' }));
    await units.insert(unit('b.service', { desiredState: 'launched' }));
    await units.updateMany([
      { name: 'a.service', patch: { observed: seen('exited') } },
      { name: 'b.service', patch: { observed: seen('missing'), reason: 'gone' } },
    ]);
    expect(await units.get('a.service')).toMatchObject({ observed: seen('exited') });
    expect(await units.get('b.service')).toMatchObject({ observed: seen('missing'), reason: 'gone' });
    const failing = [
      { name: 'a.service', patch: { observed: seen('running') } },
      { name: 'b.service', patch: { hash: null as unknown as string } },
    ];
    await expect(units.updateMany(failing)).rejects.toHaveProperty('message', expect.stringMatching(/NOT NULL|null value/));
    expect(await units.get('a.service')).toMatchObject({ observed: seen('exited') });
  });

  test('a transaction lands all its writes or none', async () => {
    // toHaveProperty, not toThrow: better-sqlite3's errors come from the realm of the first test
    // file that loaded the native module, which jest's toThrow does not take for an Error.
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['a', '1']);
        await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['a', '2']);
      }),
    ).rejects.toHaveProperty('message', expect.stringMatching(/UNIQUE constraint failed|duplicate key value/));
    expect(await db.get('SELECT value FROM settings WHERE key = ?', ['a'])).toBeUndefined();
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['a', '1']);
      await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['b', '2']);
    });
    expect(await db.all('SELECT key, value FROM settings WHERE key IN (?, ?) ORDER BY key', ['a', 'b'])).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
  });

  test('a statement outside a transaction neither joins it nor is rolled back with it', async () => {
    await expectOutsideStatementApart(db);
  });

  test('the generation moves with every write', async () => {
    const before = db.generation();
    await db.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['g', '1']);
    const after = db.generation();
    expect(after).not.toBe(before);
    await db.get('SELECT value FROM settings WHERE key = ?', ['g']);
    expect(db.generation()).toBe(after);
  });
});

describe('PostgreSQL start-up', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase('boatload_store_startup');
  });
  afterEach(async () => {
    await database.drop();
  });

  test('five replicas starting at once migrate once, under the advisory lock, and all see the same tables', async () => {
    const replicas = await Promise.all(Array.from({ length: 5 }, () => PostgresDatabase.open({ url: database.url, maxConnections: 2 })));
    try {
      for (const replica of replicas) {
        expect(await replica.get('SELECT version FROM boatload_schema')).toEqual({ version: POSTGRES_MIGRATIONS.length });
        expect(await replica.get<{ n: number }>('SELECT COUNT(*) AS n FROM boatload_schema')).toEqual({ n: 1 });
      }
      const settings = replicas.map((replica) => new SettingsRepository(replica));
      const secrets = await Promise.all(settings.map((s, i) => s.getOrCreate('jwt_secret', () => `secret-${i}`)));
      expect(new Set(secrets).size).toBe(1);
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  test('a start-up against an unreachable server fails, naming the cause', async () => {
    const url = new URL(database.url);
    url.port = '1';
    await expect(PostgresDatabase.open({ url: url.toString() })).rejects.toThrow(/ECONNREFUSED/);
  });
});

/**
 * A transaction writes, is held open while a statement from outside is issued (and `whileHeld` runs
 * inside it), then fails: the outside statement waited for it and is not rolled back with it.
 */
async function expectOutsideStatementApart(db: SqlDatabase, whileHeld: () => Promise<void> = async () => undefined): Promise<void> {
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const failing = db.transaction(async (tx) => {
    await tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['in-tx', '1']);
    inside();
    await held;
    await whileHeld();
    throw new Error('rolled back');
  });
  await entered;
  const outside = db.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['outside', '1']);
  release();
  await expect(failing).rejects.toThrow('rolled back');
  expect(await outside).toBe(1);
  expect(await db.all('SELECT key FROM settings WHERE key IN (?, ?)', ['in-tx', 'outside'])).toEqual([{ key: 'outside' }]);
}

describe('SQLite and async contexts', () => {
  test('a finished transaction leaves no async context enabled, and the next one still tells its statements from the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boatload-store-contexts-'));
    const dbs = Array.from({ length: 20 }, (_, i) => new SqliteDatabase(openDatabase(join(dir, `store-${i}.sqlite3`))));
    try {
      const before = await enabledAsyncStorages();
      for (const db of dbs) await db.transaction((tx) => tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', ['k', '1']));
      expect(await enabledAsyncStorages()).toBe(before);
      // The second transaction on a database: a statement from outside still waits for it and is not rolled back with it.
      const db = dbs[0];
      await expectOutsideStatementApart(db, () => expect(db.transaction(async () => undefined)).rejects.toThrow(/nested store transactions/));
      expect(await enabledAsyncStorages()).toBe(before);
    } finally {
      for (const db of dbs) await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
