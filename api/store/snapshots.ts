import type { Db } from './database';
import { nowIso } from './database';

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
  constructor(private readonly db: Db) {}

  insert(snapshot: NewSnapshot): SnapshotRecord {
    const created = nowIso();
    const { script, ...record } = snapshot;
    this.db
      .prepare(
        `INSERT INTO snapshots (id, owner, container_id, name, image, image_id, size, machine_id, script, scriptname, container_args, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(record.id, record.owner, record.containerId, record.name, record.image, record.imageId, record.size, record.machineId, script, record.scriptname, JSON.stringify(record.args), created);
    return { ...record, created };
  }

  /** Inserts the snapshot unless its owner already has `limit` (0: no limit); null when over. One IMMEDIATE transaction. */
  insertWithinLimit(snapshot: NewSnapshot, limit: number): SnapshotRecord | null {
    return this.db
      .transaction(() => (limit > 0 && this.countOwnedBy(snapshot.owner) >= limit ? null : this.insert(snapshot)))
      .immediate();
  }

  countOwnedBy(owner: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM snapshots WHERE owner = ?').get(owner) as { n: number }).n;
  }

  /** The source container's script, kept with the snapshot (null without one). */
  script(id: string): Buffer | null {
    const row = this.db.prepare('SELECT script FROM snapshots WHERE id = ?').get(id) as { script: Buffer | null } | undefined;
    return row?.script ?? null;
  }

  find(id: string): SnapshotRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM snapshots WHERE id = ?`).get(id) as SnapshotRow | undefined;
    return row && fromRow(row);
  }

  list(owner?: string): SnapshotRecord[] {
    const rows = owner === undefined
      ? this.db.prepare(`SELECT ${COLUMNS} FROM snapshots ORDER BY created, id`).all()
      : this.db.prepare(`SELECT ${COLUMNS} FROM snapshots WHERE owner = ? ORDER BY created, id`).all(owner);
    return (rows as SnapshotRow[]).map(fromRow);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id).changes === 1;
  }
}
