import type { UnitOption } from '../../units/unit-file';
import type { EngineObservation, UnitListFilter, UnitPageQuery, UnitPatch, UnitRecord, UnitState, UnitStore, WatchedUnit } from '../../units/scheduler/model';
import { nowIso } from './database';
import type { Dialect, SqlDatabase, SqlExecutor, SqlValue } from './sql';

interface UnitRow {
  name: string;
  options: string;
  hash: string;
  desired_state: string;
  current_state: string;
  machine_id: string | null;
  reason: string | null;
  engine_name: string;
  observed: string | null;
  ever_started: number;
  container_id: string | null;
  created: string;
  updated: string;
}

const fromRow = (row: UnitRow): UnitRecord => ({
  name: row.name,
  options: JSON.parse(row.options) as UnitOption[],
  hash: row.hash,
  desiredState: row.desired_state as UnitState,
  currentState: row.current_state as UnitState,
  machineId: row.machine_id,
  reason: row.reason,
  engineName: row.engine_name,
  observed: row.observed === null ? null : (JSON.parse(row.observed) as EngineObservation),
  everStarted: row.ever_started === 1,
  containerId: row.container_id,
  created: row.created,
  updated: row.updated,
});

const COLUMNS: Record<string, string> = {
  options: 'options',
  hash: 'hash',
  desiredState: 'desired_state',
  currentState: 'current_state',
  machineId: 'machine_id',
  reason: 'reason',
  engineName: 'engine_name',
  observed: 'observed',
  everStarted: 'ever_started',
  containerId: 'container_id',
  updated: 'updated',
};

function toColumnValue(key: string, value: unknown): SqlValue {
  if (key === 'options' || key === 'observed') return value === null ? null : JSON.stringify(value);
  if (key === 'everStarted') return value ? 1 : 0;
  return value as SqlValue;
}

/**
 * The units systemdStateOf gives a state: not (inactive and never or no longer seen). Word for
 * word the condition of the partial index units_with_state on each dialect, so that both use it.
 */
const hasSystemdState = (dialect: Dialect): string =>
  dialect === 'sqlite'
    ? "(current_state != 'inactive' OR json_extract(observed, '$.status') != 'missing')"
    : "(current_state != 'inactive' OR (observed::jsonb ->> 'status') != 'missing')";

async function updateUnit(db: SqlExecutor, name: string, patch: UnitPatch): Promise<void> {
  const entries = Object.entries({ ...patch, updated: nowIso() }).filter(([key]) => key in COLUMNS);
  const sql = `UPDATE units SET ${entries.map(([key]) => `${COLUMNS[key]} = ?`).join(', ')} WHERE name = ?`;
  await db.run(sql, [...entries.map(([key, value]) => toColumnValue(key, value)), name]);
}

/** Units in the store, on either dialect (the scheduler's UnitStore). */
export class SqlUnitStore implements UnitStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(name: string): Promise<UnitRecord | undefined> {
    const row = await this.db.get<UnitRow>('SELECT * FROM units WHERE name = ?', [name]);
    return row && fromRow(row);
  }

  async unitUsingEngineName(engineName: string, except: string): Promise<string | undefined> {
    return (await this.db.get<{ name: string }>('SELECT name FROM units WHERE engine_name = ? AND name != ? LIMIT 1', [engineName, except]))?.name;
  }

  async list(filter: UnitListFilter = {}): Promise<UnitRecord[]> {
    const conditions: string[] = [];
    // `desired_state != 'inactive'` word for word: the condition of the partial index units_wanted.
    if (filter.wanted !== undefined) conditions.push(filter.wanted ? "desired_state != 'inactive'" : "desired_state = 'inactive'");
    if (filter.placed !== undefined) conditions.push(filter.placed ? 'machine_id IS NOT NULL' : 'machine_id IS NULL');
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
    return (await this.db.all<UnitRow>(`SELECT * FROM units ${where}ORDER BY name`)).map(fromRow);
  }

  async listWatched(): Promise<WatchedUnit[]> {
    const rows = await this.db.all<Pick<UnitRow, 'name' | 'engine_name' | 'machine_id' | 'observed'>>(
      "SELECT name, engine_name, machine_id, observed FROM units WHERE desired_state != 'inactive' ORDER BY name",
    );
    return rows.map((row) => ({
      name: row.name,
      engineName: row.engine_name,
      machineId: row.machine_id,
      observed: row.observed === null ? null : (JSON.parse(row.observed) as EngineObservation),
    }));
  }

  async page(query: UnitPageQuery): Promise<UnitRecord[]> {
    const conditions: string[] = [];
    const values: SqlValue[] = [];
    if (query.withSystemdState) conditions.push(hasSystemdState(this.db.dialect));
    if (query.machineId !== undefined) {
      conditions.push('machine_id = ?');
      values.push(query.machineId);
    }
    if (query.name !== undefined) {
      conditions.push('name = ?');
      values.push(query.name);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
    const sql = `SELECT * FROM units ${where}ORDER BY name LIMIT ? OFFSET ?`;
    return (await this.db.all<UnitRow>(sql, [...values, query.limit, query.offset])).map(fromRow);
  }

  insert(unit: UnitRecord): Promise<void> {
    return insertUnit(this.db, unit);
  }

  update(name: string, patch: UnitPatch): Promise<void> {
    return updateUnit(this.db, name, patch);
  }

  async updateMany(updates: ReadonlyArray<{ name: string; patch: UnitPatch }>): Promise<void> {
    if (updates.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const { name, patch } of updates) await updateUnit(tx, name, patch);
    });
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM units WHERE name = ?', [name])) === 1;
  }
}

/** Inserts a unit; also in another repository's transaction (a container record and its unit land together). */
export async function insertUnit(db: SqlExecutor, unit: UnitRecord): Promise<void> {
  await db.run(
    `INSERT INTO units (name, options, hash, desired_state, current_state, machine_id, reason, engine_name, observed, ever_started, container_id, created, updated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      unit.name,
      JSON.stringify(unit.options),
      unit.hash,
      unit.desiredState,
      unit.currentState,
      unit.machineId,
      unit.reason,
      unit.engineName,
      unit.observed === null ? null : JSON.stringify(unit.observed),
      unit.everStarted ? 1 : 0,
      unit.containerId,
      unit.created,
      unit.updated,
    ],
  );
}
