import { nowIso } from './database';
import type { SqlDatabase, SqlExecutor } from './sql';
import { OVER_LIMIT, type OverLimit } from './over-limit';

/** A container's filesystem committed as an engine image on one machine. */
export interface SnapshotRecord {
  id: string;
  owner: string;
  /** The container it was taken from (which may since have been deleted). */
  containerId: string;
  name: string | null;
  /** Image reference, `boatload/snapshot:<id>`. */
  image: string;
  imageId: string;
  size: number;
  machineId: string | null;
  /**
   * The source container's command: its script's name (null without a script) and its
   * container_args. The script's bytes are read with `script(id)`.
   */
  scriptname: string | null;
  args: string[];
  created: string;
}

/** A new snapshot: its record and the source container's script (null without one). */
export type NewSnapshot = Omit<SnapshotRecord, 'created'> & { script: Buffer | null };

interface SnapshotRow {
  id: string;
  owner: string;
  container_id: string;
  name: string | null;
  image: string;
  image_id: string;
  size: number;
  machine_id: string | null;
  scriptname: string | null;
  container_args: string | null;
  created: string;
}

const COLUMNS = 'id, owner, container_id, name, image, image_id, size, machine_id, scriptname, container_args, created';

const fromRow = (row: SnapshotRow): SnapshotRecord => ({
  id: row.id,
  owner: row.owner,
  containerId: row.container_id,
  name: row.name,
  image: row.image,
  imageId: row.image_id,
  size: row.size,
  machineId: row.machine_id,
  scriptname: row.scriptname,
  args: row.container_args === null ? [] : (JSON.parse(row.container_args) as string[]),
  created: row.created,
});

export class SnapshotRepository {
  constructor(private readonly db: SqlDatabase) {}

  insert(snapshot: NewSnapshot): Promise<SnapshotRecord> {
    return insertSnapshot(this.db, snapshot);
  }

  /**
   * Inserts the snapshot unless its owner already has `limit` (0: no limit); OVER_LIMIT when over. One
   * transaction holding the owner's snapshots lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
   */
  insertWithinLimit(snapshot: NewSnapshot, limit: number): Promise<SnapshotRecord | OverLimit> {
    return this.db.transaction(async (tx) => {
      await tx.lock(`snapshots:${snapshot.owner}`);
      return limit > 0 && (await countSnapshots(tx, snapshot.owner)) >= limit ? OVER_LIMIT : insertSnapshot(tx, snapshot);
    });
  }

  countOwnedBy(owner: string): Promise<number> {
    return countSnapshots(this.db, owner);
  }

  /** The source container's script, kept with the snapshot (null without one). */
  async script(id: string): Promise<Buffer | null> {
    return (await this.db.get<{ script: Buffer | null }>('SELECT script FROM snapshots WHERE id = ?', [id]))?.script ?? null;
  }

  async find(id: string): Promise<SnapshotRecord | undefined> {
    const row = await this.db.get<SnapshotRow>(`SELECT ${COLUMNS} FROM snapshots WHERE id = ?`, [id]);
    return row && fromRow(row);
  }

  async list(owner?: string): Promise<SnapshotRecord[]> {
    const rows = owner === undefined
      ? await this.db.all<SnapshotRow>(`SELECT ${COLUMNS} FROM snapshots ORDER BY created, id`)
      : await this.db.all<SnapshotRow>(`SELECT ${COLUMNS} FROM snapshots WHERE owner = ? ORDER BY created, id`, [owner]);
    return rows.map(fromRow);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM snapshots WHERE id = ?', [id])) === 1;
  }
}

async function countSnapshots(db: SqlExecutor, owner: string): Promise<number> {
  return (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM snapshots WHERE owner = ?', [owner]))?.n ?? 0;
}

async function insertSnapshot(db: SqlExecutor, snapshot: NewSnapshot): Promise<SnapshotRecord> {
  const created = nowIso();
  const { script, ...record } = snapshot;
  await db.run(
    `INSERT INTO snapshots (id, owner, container_id, name, image, image_id, size, machine_id, script, scriptname, container_args, created)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [record.id, record.owner, record.containerId, record.name, record.image, record.imageId, record.size, record.machineId, script, record.scriptname, JSON.stringify(record.args), created],
  );
  return { ...record, created };
}
