/**
 * The SQLite unit store on a real store file: the lookups the unit API relies on at scale, and the
 * migrations that index them (an existing store is upgraded in place).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../api/store/database';
import { SqliteUnitStore } from '../../api/store/units';
import type { UnitRecord } from '../../units/scheduler/model';
import { parseUnitFile, unitHash } from '../../units/unit-file';

const options = parseUnitFile('[Service]\nExecStart=/usr/bin/docker run boatload/base:latest sleep 1\n');

const record = (name: string, patch: Partial<UnitRecord> = {}): UnitRecord => ({
  name,
  options,
  hash: unitHash(options),
  desiredState: 'inactive',
  currentState: 'inactive',
  machineId: null,
  reason: null,
  engineName: name.replace(/\.service$/, ''),
  observed: null,
  everStarted: false,
  containerId: null,
  created: '2026-01-01T00:00:00.000Z',
  updated: '2026-01-01T00:00:00.000Z',
  ...patch,
});

let dir: string;
let db: Db;
let store: SqliteUnitStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'boatload-store-units-'));
  db = openDatabase(join(dir, 'store.sqlite3'));
  store = new SqliteUnitStore(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan = (sql: string): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((row) => row.detail).join('; ');

describe('unitUsingEngineName', () => {
  test('names another unit with that container name, never the unit itself', () => {
    store.insert(record('a.service', { engineName: 'web' }));
    store.insert(record('b.service', { engineName: 'db' }));
    expect(store.unitUsingEngineName('web', 'c.service')).toBe('a.service');
    expect(store.unitUsingEngineName('web', 'a.service')).toBeUndefined();
    expect(store.unitUsingEngineName('cache', 'c.service')).toBeUndefined();
  });

  test('is an index lookup', () => {
    expect(plan("SELECT name FROM units WHERE engine_name = 'web' AND name != 'x' LIMIT 1")).toMatch(/USING INDEX units_engine_name/);
  });
});

test('an existing store is upgraded in place: units kept, indexes added', () => {
  const path = join(dir, 'old.sqlite3');
  const current = openDatabase(path);
  const version = current.pragma('user_version', { simple: true }) as number;
  current.close();
  // A store from before the unit indexes: drop them and step back to the version that had none.
  const old = new Database(path);
  old.exec('DROP INDEX units_engine_name');
  old.pragma(`user_version = 3`);
  new SqliteUnitStore(old).insert(record('kept.service', { engineName: 'kept' }));
  old.close();

  const upgraded = openDatabase(path);
  try {
    expect(upgraded.pragma('user_version', { simple: true })).toBe(version);
    expect(new SqliteUnitStore(upgraded).unitUsingEngineName('kept', 'other.service')).toBe('kept.service');
    const indexes = (upgraded.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'units'").all() as Array<{ name: string }>).map((row) => row.name);
    expect(indexes).toContain('units_engine_name');
  } finally {
    upgraded.close();
  }
});
