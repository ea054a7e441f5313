import type { Db } from './database';
import { nowIso } from './database';

export type OperationKind = 'start' | 'stop' | 'restart' | 'snapshot' | 'fork' | 'batch_create';
export type OperationStatus = 'pending' | 'running' | 'succeeded' | 'failed';

/** A long action's receipt, kept in the store so that it survives (and reports) API restarts. */
export interface OperationRecord {
  id: string;
  owner: string;
  kind: OperationKind;
  status: OperationStatus;
  /** The path of the resource the operation acts on. */
  target: string;
  result: unknown;
  error: string | null;
  created: string;
  updated: string;
}

interface OperationRow {
  id: string;
  owner: string;
  kind: string;
  status: string;
  target: string;
  result: string | null;
  error: string | null;
  created: string;
  updated: string;
}

const fromRow = (row: OperationRow): OperationRecord => ({
  id: row.id,
  owner: row.owner,
  kind: row.kind as OperationKind,
  status: row.status as OperationStatus,
  target: row.target,
  result: row.result === null ? null : (JSON.parse(row.result) as unknown),
  error: row.error,
  created: row.created,
  updated: row.updated,
});

export class OperationRepository {
  constructor(private readonly db: Db) {}

  insert(record: Pick<OperationRecord, 'id' | 'owner' | 'kind' | 'target'>): OperationRecord {
    const now = nowIso();
    this.db
      .prepare(`INSERT INTO operations (id, owner, kind, status, target, result, error, created, updated) VALUES (?, ?, ?, 'pending', ?, NULL, NULL, ?, ?)`)
      .run(record.id, record.owner, record.kind, record.target, now, now);
    return this.find(record.id) as OperationRecord;
  }

  find(id: string): OperationRecord | undefined {
    const row = this.db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as OperationRow | undefined;
    return row && fromRow(row);
  }

  /** Newest first; one owner's, or everyone's. */
  list(owner: string | undefined, limit: number): OperationRecord[] {
    const rows = owner === undefined
      ? this.db.prepare('SELECT * FROM operations ORDER BY created DESC, id LIMIT ?').all(limit)
      : this.db.prepare('SELECT * FROM operations WHERE owner = ? ORDER BY created DESC, id LIMIT ?').all(owner, limit);
    return (rows as OperationRow[]).map(fromRow);
  }

  update(id: string, patch: { status: OperationStatus; result?: unknown; error?: string | null }): void {
    this.db
      .prepare('UPDATE operations SET status = ?, result = COALESCE(?, result), error = ?, updated = ? WHERE id = ?')
      .run(patch.status, patch.result === undefined ? null : JSON.stringify(patch.result), patch.error ?? null, nowIso(), id);
  }

  /** Marks every pending or running operation failed; returns how many. */
  failUnfinished(reason: string): number {
    return this.db
      .prepare(`UPDATE operations SET status = 'failed', error = ?, updated = ? WHERE status IN ('pending', 'running')`)
      .run(reason, nowIso()).changes;
  }

  countByStatus(): Record<string, number> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM operations GROUP BY status').all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  deleteOwnedBy(owner: string): void {
    this.db.prepare('DELETE FROM operations WHERE owner = ?').run(owner);
  }
}
