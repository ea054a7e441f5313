import type { Db } from './database';
import { nowIso } from './database';

/** A named engine volume with an owner; it lives on one machine. */
export interface VolumeRecord {
  id: string;
  owner: string;
  /** The owner's name for it, unique per owner. */
  name: string;
  /** The engine's name, `boatload-vol-<id>`. */
  engineName: string;
  machineId: string | null;
  created: string;
}

interface VolumeRow {
  id: string;
  owner: string;
  name: string;
  engine_name: string;
  machine_id: string | null;
  created: string;
}

const fromRow = (row: VolumeRow): VolumeRecord => ({
  id: row.id,
  owner: row.owner,
  name: row.name,
  engineName: row.engine_name,
  machineId: row.machine_id,
  created: row.created,
});

export class VolumeRepository {
  constructor(private readonly db: Db) {}

  /** Inserts the volume; false when the owner already has one of that name. */
  insert(record: Omit<VolumeRecord, 'created'>): VolumeRecord | null {
    const created = nowIso();
    const result = this.db
      .prepare('INSERT OR IGNORE INTO volumes (id, owner, name, engine_name, machine_id, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(record.id, record.owner, record.name, record.engineName, record.machineId, created);
    return result.changes === 1 ? { ...record, created } : null;
  }

  /**
   * Inserts the volume unless its owner already has `limit` of them (0: no limit): 'over-limit',
   * or null when the name is taken. Count and insert are one IMMEDIATE transaction (race-free).
   */
  insertWithinLimit(record: Omit<VolumeRecord, 'created'>, limit: number): VolumeRecord | null | 'over-limit' {
    return this.db
      .transaction((): VolumeRecord | null | 'over-limit' => {
        if (limit > 0 && this.countOwnedBy(record.owner) >= limit) return 'over-limit';
        return this.insert(record);
      })
      .immediate();
  }

  countOwnedBy(owner: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM volumes WHERE owner = ?').get(owner) as { n: number }).n;
  }

  find(id: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE id = ?').get(id) as VolumeRow | undefined;
    return row && fromRow(row);
  }

  findByName(owner: string, name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE owner = ? AND name = ?').get(owner, name) as VolumeRow | undefined;
    return row && fromRow(row);
  }

  list(owner?: string): VolumeRecord[] {
    const rows = owner === undefined
      ? this.db.prepare('SELECT * FROM volumes ORDER BY created, id').all()
      : this.db.prepare('SELECT * FROM volumes WHERE owner = ? ORDER BY created, id').all(owner);
    return (rows as VolumeRow[]).map(fromRow);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM volumes WHERE id = ?').run(id).changes === 1;
  }
}
