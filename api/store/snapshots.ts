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
  created: string;
}

interface SnapshotRow {
  id: string;
  owner: string;
  container_id: string;
  name: string | null;
  image: string;
  image_id: string;
  size: number;
  machine_id: string | null;
  created: string;
}

const fromRow = (row: SnapshotRow): SnapshotRecord => ({
  id: row.id,
  owner: row.owner,
  containerId: row.container_id,
  name: row.name,
  image: row.image,
  imageId: row.image_id,
  size: row.size,
  machineId: row.machine_id,
  created: row.created,
});

export class SnapshotRepository {
  constructor(private readonly db: Db) {}

  insert(record: Omit<SnapshotRecord, 'created'>): SnapshotRecord {
    const created = nowIso();
    this.db
      .prepare('INSERT INTO snapshots (id, owner, container_id, name, image, image_id, size, machine_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(record.id, record.owner, record.containerId, record.name, record.image, record.imageId, record.size, record.machineId, created);
    return { ...record, created };
  }

  find(id: string): SnapshotRecord | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE id = ?').get(id) as SnapshotRow | undefined;
    return row && fromRow(row);
  }

  list(owner?: string): SnapshotRecord[] {
    const rows = owner === undefined
      ? this.db.prepare('SELECT * FROM snapshots ORDER BY created, id').all()
      : this.db.prepare('SELECT * FROM snapshots WHERE owner = ? ORDER BY created, id').all(owner);
    return (rows as SnapshotRow[]).map(fromRow);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id).changes === 1;
  }
}
