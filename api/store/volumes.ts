import { nowIso } from './database';
import type { SqlDatabase, SqlExecutor, SqlTransaction } from './sql';
import { OVER_LIMIT, type OverLimit } from './over-limit';

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
  constructor(private readonly db: SqlDatabase) {}

  /** Inserts the volume; null when the owner already has one of that name. */
  insert(record: Omit<VolumeRecord, 'created'>): Promise<VolumeRecord | null> {
    return insertVolume(this.db, record);
  }

  /**
   * Inserts the volume unless its owner already has `limit` of them (0: no limit): OVER_LIMIT,
   * or null when the name is taken. Count and insert are one transaction holding the owner's
   * volumes lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so concurrent creates
   * (in this process or another replica) never both take the last slot.
   */
  insertWithinLimit(record: Omit<VolumeRecord, 'created'>, limit: number): Promise<VolumeRecord | null | OverLimit> {
    return this.db.transaction(async (tx: SqlTransaction): Promise<VolumeRecord | null | OverLimit> => {
      await tx.lock(`volumes:${record.owner}`);
      if (limit > 0 && (await countVolumes(tx, record.owner)) >= limit) return OVER_LIMIT;
      return insertVolume(tx, record);
    });
  }

  countOwnedBy(owner: string): Promise<number> {
    return countVolumes(this.db, owner);
  }

  async find(id: string): Promise<VolumeRecord | undefined> {
    const row = await this.db.get<VolumeRow>('SELECT * FROM volumes WHERE id = ?', [id]);
    return row && fromRow(row);
  }

  async findByName(owner: string, name: string): Promise<VolumeRecord | undefined> {
    const row = await this.db.get<VolumeRow>('SELECT * FROM volumes WHERE owner = ? AND name = ?', [owner, name]);
    return row && fromRow(row);
  }

  async list(owner?: string): Promise<VolumeRecord[]> {
    const rows = owner === undefined
      ? await this.db.all<VolumeRow>('SELECT * FROM volumes ORDER BY created, id')
      : await this.db.all<VolumeRow>('SELECT * FROM volumes WHERE owner = ? ORDER BY created, id', [owner]);
    return rows.map(fromRow);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM volumes WHERE id = ?', [id])) === 1;
  }
}

async function countVolumes(db: SqlExecutor, owner: string): Promise<number> {
  return (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM volumes WHERE owner = ?', [owner]))?.n ?? 0;
}

/** Inserts the volume; null when the owner already has one of that name (or its engine name is taken). */
async function insertVolume(db: SqlExecutor, record: Omit<VolumeRecord, 'created'>): Promise<VolumeRecord | null> {
  const created = nowIso();
  const changes = await db.run('INSERT INTO volumes (id, owner, name, engine_name, machine_id, created) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
    record.id,
    record.owner,
    record.name,
    record.engineName,
    record.machineId,
    created,
  ]);
  return changes === 1 ? { ...record, created } : null;
}
