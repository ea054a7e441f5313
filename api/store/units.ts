import type { UnitOption } from '../../units/unit-file';
import type { EngineObservation, UnitListFilter, UnitPageQuery, UnitPatch, UnitRecord, UnitState, UnitStore, WatchedUnit } from '../../units/scheduler/model';
import type { Db } from './database';
import { nowIso } from './database';
import { StatementCache } from './statements';

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

function toColumnValue(key: string, value: unknown): unknown {
  if (key === 'options' || key === 'observed') return value === null ? null : JSON.stringify(value);
  if (key === 'everStarted') return value ? 1 : 0;
  return value;
}

/**
 * The units systemdStateOf gives a state: not (inactive and never or no longer seen). Word for
 * word the condition of the partial index units_with_state, so that SQLite uses it.
 */
const HAS_SYSTEMD_STATE = "(current_state != 'inactive' OR json_extract(observed, '$.status') != 'missing')";

/** Units in the SQLite store (the scheduler's UnitStore). */
export class SqliteUnitStore implements UnitStore {
  private readonly statements: StatementCache;
  private readonly updateAll: (updates: ReadonlyArray<{ name: string; patch: UnitPatch }>) => void;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
    this.updateAll = db.transaction((updates: ReadonlyArray<{ name: string; patch: UnitPatch }>) => {
      for (const { name, patch } of updates) this.update(name, patch);
    });
  }

  get(name: string): UnitRecord | undefined {
    const row = this.statements.get('SELECT * FROM units WHERE name = ?').get(name) as UnitRow | undefined;
    return row && fromRow(row);
  }

  unitUsingEngineName(engineName: string, except: string): string | undefined {
    const row = this.statements.get('SELECT name FROM units WHERE engine_name = ? AND name != ? LIMIT 1').get(engineName, except) as { name: string } | undefined;
    return row?.name;
  }

  list(filter: UnitListFilter = {}): UnitRecord[] {
    const conditions: string[] = [];
    // `desired_state != 'inactive'` word for word: the condition of the partial index units_wanted.
    if (filter.wanted !== undefined) conditions.push(filter.wanted ? "desired_state != 'inactive'" : "desired_state = 'inactive'");
    if (filter.placed !== undefined) conditions.push(filter.placed ? 'machine_id IS NOT NULL' : 'machine_id IS NULL');
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
    return (this.statements.get(`SELECT * FROM units ${where}ORDER BY name`).all() as UnitRow[]).map(fromRow);
  }

  listWatched(): WatchedUnit[] {
    const rows = this.statements
      .get("SELECT name, engine_name, machine_id, observed FROM units WHERE desired_state != 'inactive' ORDER BY name")
      .all() as Array<Pick<UnitRow, 'name' | 'engine_name' | 'machine_id' | 'observed'>>;
    return rows.map((row) => ({
      name: row.name,
      engineName: row.engine_name,
      machineId: row.machine_id,
      observed: row.observed === null ? null : (JSON.parse(row.observed) as EngineObservation),
    }));
  }

  page(query: UnitPageQuery): UnitRecord[] {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (query.withSystemdState) conditions.push(HAS_SYSTEMD_STATE);
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
    return (this.statements.get(sql).all(...values, query.limit, query.offset) as UnitRow[]).map(fromRow);
  }

  insert(unit: UnitRecord): void {
    this.statements
      .get(
        `INSERT INTO units (name, options, hash, desired_state, current_state, machine_id, reason, engine_name, observed, ever_started, container_id, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
  }

  update(name: string, patch: UnitPatch): void {
    const entries = Object.entries({ ...patch, updated: nowIso() }).filter(([key]) => key in COLUMNS);
    const sql = `UPDATE units SET ${entries.map(([key]) => `${COLUMNS[key]} = ?`).join(', ')} WHERE name = ?`;
    this.statements.get(sql).run(...entries.map(([key, value]) => toColumnValue(key, value)), name);
  }

  updateMany(updates: ReadonlyArray<{ name: string; patch: UnitPatch }>): void {
    if (updates.length > 0) this.updateAll(updates);
  }

  delete(name: string): boolean {
    return this.statements.get('DELETE FROM units WHERE name = ?').run(name).changes === 1;
  }
}
