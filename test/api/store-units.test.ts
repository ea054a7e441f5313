/**
 * The unit store on a real SQLite store file (both dialects: store-dialects.test.ts): the lookups the unit API relies on at scale, and the
 * migrations that index them (an existing store is upgraded in place).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_VERSION, type Db } from '../../api/store/database';
import { SqliteDatabase } from '../../api/store/sqlite-database';
import { SqlUnitStore } from '../../api/store/units';
import type { EngineObservation, EngineStatus, UnitRecord, UnitState } from '../../units/scheduler/model';
import { systemdStateOf } from '../../units/scheduler/unit-status';
import { unitRecord } from '../support/unit-records';

const UNIT_TEXT = '[Service]\nExecStart=/usr/bin/docker run boatload/base:latest sleep 1\n';
const record = (name: string, patch: Partial<UnitRecord> = {}): UnitRecord => unitRecord(name, UNIT_TEXT, patch);

let dir: string;
let db: Db;
let store: SqlUnitStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'boatload-store-units-'));
  db = openDatabase(join(dir, 'store.sqlite3'));
  store = new SqlUnitStore(new SqliteDatabase(db));
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan = (sql: string): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((row) => row.detail).join('; ');

describe('unitUsingEngineName', () => {
  test('names another unit with that container name, never the unit itself', async () => {
    await store.insert(record('a.service', { engineName: 'web' }));
    await store.insert(record('b.service', { engineName: 'db' }));
    expect((await store.unitUsingEngineName('web', 'c.service'))).toBe('a.service');
    expect((await store.unitUsingEngineName('web', 'a.service'))).toBeUndefined();
    expect((await store.unitUsingEngineName('cache', 'c.service'))).toBeUndefined();
  });

  test('is an index lookup', async () => {
    expect(plan("SELECT name FROM units WHERE engine_name = 'web' AND name != 'x' LIMIT 1")).toMatch(/USING INDEX units_engine_name/);
  });
});

const seen = (status: EngineStatus): EngineObservation => ({ status, exitCode: null, error: null, observedAt: '2026-01-01T00:00:00.000Z' });

describe('page', () => {
  const names = Array.from({ length: 25 }, (_, i) => `u-${String(i).padStart(2, '0')}.service`);

  test('a slice sorted by name, whatever the insertion order', async () => {
    for (const name of [...names].reverse()) await store.insert(record(name));
    expect((await store.page({ offset: 0, limit: 10 })).map((unit) => unit.name)).toEqual(names.slice(0, 10));
    expect((await store.page({ offset: 20, limit: 10 })).map((unit) => unit.name)).toEqual(names.slice(20));
    expect((await store.page({ offset: 30, limit: 10 }))).toEqual([]);
    expect((await store.page({ offset: 3, limit: 1 }))[0]).toEqual(record(names[3]));
  });

  test('withSystemdState keeps exactly the units systemdStateOf gives a state', async () => {
    const states: UnitState[] = ['inactive', 'loaded', 'launched'];
    const observations: Array<EngineObservation | null> = [null, seen('missing'), seen('created'), seen('running'), seen('exited')];
    let i = 0;
    for (const desiredState of states) {
      for (const currentState of states) {
        for (const observed of observations) {
          for (const reason of [null, 'boom']) {
            await store.insert(record(`m-${String(i++).padStart(3, '0')}.service`, { desiredState, currentState, observed, reason, machineId: currentState === 'inactive' ? null : 'm1' }));
          }
        }
      }
    }
    const all = (await store.list());
    const expected = all.filter((unit) => systemdStateOf(unit) !== null).map((unit) => unit.name);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    expect((await store.page({ offset: 0, limit: 1000, withSystemdState: true })).map((unit) => unit.name)).toEqual(expected);
    expect((await store.page({ offset: 5, limit: 7, withSystemdState: true })).map((unit) => unit.name)).toEqual(expected.slice(5, 12));
  });

  test('filters by exact machine and name', async () => {
    await store.insert(record('a.service', { currentState: 'launched', machineId: 'm1', observed: seen('running') }));
    await store.insert(record('b.service', { currentState: 'launched', machineId: 'm2', observed: seen('running') }));
    await store.insert(record('c.service', { currentState: 'loaded', machineId: 'm1', observed: seen('created') }));
    const namesOf = (units: UnitRecord[]): string[] => units.map((unit) => unit.name);
    expect(namesOf((await store.page({ offset: 0, limit: 10, withSystemdState: true, machineId: 'm1' })))).toEqual(['a.service', 'c.service']);
    expect(namesOf((await store.page({ offset: 0, limit: 10, withSystemdState: true, name: 'b.service' })))).toEqual(['b.service']);
    expect(namesOf((await store.page({ offset: 0, limit: 10, withSystemdState: true, machineId: 'm2', name: 'a.service' })))).toEqual([]);
    expect(namesOf((await store.page({ offset: 0, limit: 10, machineId: '' })))).toEqual([]);
  });

  test('states are read through the partial index, units by name, without sorting', async () => {
    const statePlan = plan("SELECT * FROM units WHERE (current_state != 'inactive' OR json_extract(observed, '$.status') != 'missing') ORDER BY name LIMIT 101 OFFSET 0");
    expect(statePlan).toMatch(/USING INDEX units_with_state/);
    expect(statePlan).not.toMatch(/TEMP B-TREE/);
    expect(plan('SELECT * FROM units ORDER BY name LIMIT 101 OFFSET 100')).not.toMatch(/TEMP B-TREE/);
  });
});

describe('the units the scheduler works on', () => {
  beforeEach(async () => {
    await store.insert(record('idle.service'));
    await store.insert(record('waiting.service', { desiredState: 'launched' }));
    await store.insert(record('running.service', { desiredState: 'launched', currentState: 'launched', machineId: 'm1', observed: seen('running') }));
    await store.insert(record('stopping.service', { desiredState: 'inactive', currentState: 'launched', machineId: 'm1' }));
  });
  const namesOf = (units: Array<{ name: string }>): string[] => units.map((unit) => unit.name);

  test('list filters by wanted (desired state not inactive) and placed (on a machine)', async () => {
    expect(namesOf((await store.list()))).toEqual(['idle.service', 'running.service', 'stopping.service', 'waiting.service']);
    expect(namesOf((await store.list({ wanted: true })))).toEqual(['running.service', 'waiting.service']);
    expect(namesOf((await store.list({ wanted: false })))).toEqual(['idle.service', 'stopping.service']);
    expect(namesOf((await store.list({ placed: true })))).toEqual(['running.service', 'stopping.service']);
    expect(namesOf((await store.list({ wanted: true, placed: false })))).toEqual(['waiting.service']);
  });

  test('listWatched: the wanted units, with what the state sync compares', async () => {
    expect((await store.listWatched())).toEqual([
      { name: 'running.service', engineName: 'running', machineId: 'm1', observed: seen('running') },
      { name: 'waiting.service', engineName: 'waiting', machineId: null, observed: null },
    ]);
  });

  test('updateMany writes every change, in one transaction (all or none)', async () => {
    await store.updateMany([
      { name: 'running.service', patch: { observed: seen('exited') } },
      { name: 'waiting.service', patch: { observed: seen('missing'), reason: 'gone' } },
    ]);
    expect((await store.get('running.service'))?.observed).toEqual(seen('exited'));
    expect((await store.get('waiting.service'))).toMatchObject({ observed: seen('missing'), reason: 'gone' });
    const rollback = [{ name: 'running.service', patch: { observed: seen('running') } }, { name: 'waiting.service', patch: { hash: null as unknown as string } }];
    // toHaveProperty, not toThrow: better-sqlite3's errors come from the realm of the first test file
    // that loaded the native module, which jest's toThrow does not take for an Error.
    await expect(store.updateMany(rollback)).rejects.toHaveProperty('message', expect.stringMatching(/NOT NULL/));
    expect((await store.get('running.service'))?.observed).toEqual(seen('exited'));
  });

  test('the state sync reads the partial index of wanted units', async () => {
    expect(plan("SELECT name, engine_name, machine_id, observed FROM units WHERE desired_state != 'inactive' ORDER BY name")).toMatch(/USING INDEX units_wanted/);
  });
});

test('an existing store is upgraded in place: units kept, indexes added', async () => {
  const path = join(dir, 'old.sqlite3');
  const version = STORE_VERSION;
  // A store from before the unit indexes: the version that had none.
  const old = openDatabase(path, { version: 3 });
  await new SqlUnitStore(new SqliteDatabase(old)).insert(record('kept.service', { engineName: 'kept' }));
  old.close();

  const upgraded = openDatabase(path);
  try {
    expect(upgraded.pragma('user_version', { simple: true })).toBe(version);
    expect(await new SqlUnitStore(new SqliteDatabase(upgraded)).unitUsingEngineName('kept', 'other.service')).toBe('kept.service');
    const indexes = (upgraded.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'units'").all() as Array<{ name: string }>).map((row) => row.name);
    expect(indexes).toEqual(expect.arrayContaining(['units_engine_name', 'units_with_state', 'units_wanted']));
  } finally {
    upgraded.close();
  }
});
