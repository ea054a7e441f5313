import { nowIso } from './database';
import type { SqlDatabase } from './sql';

export type OperationKind = 'start' | 'stop' | 'restart' | 'snapshot' | 'fork' | 'batch_create' | 'invoke';
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
  constructor(private readonly db: SqlDatabase) {}

  async insert(record: Pick<OperationRecord, 'id' | 'owner' | 'kind' | 'target'>): Promise<OperationRecord> {
    const now = nowIso();
    await this.db.run(`INSERT INTO operations (id, owner, kind, status, target, result, error, created, updated) VALUES (?, ?, ?, 'pending', ?, NULL, NULL, ?, ?)`, [
      record.id,
      record.owner,
      record.kind,
      record.target,
      now,
      now,
    ]);
    return { ...record, status: 'pending', result: null, error: null, created: now, updated: now };
  }

  async find(id: string): Promise<OperationRecord | undefined> {
    const row = await this.db.get<OperationRow>('SELECT * FROM operations WHERE id = ?', [id]);
    return row && fromRow(row);
  }

  /** Newest first; one owner's, or everyone's. */
  async list(owner: string | undefined, limit: number): Promise<OperationRecord[]> {
    const rows = owner === undefined
      ? await this.db.all<OperationRow>('SELECT * FROM operations ORDER BY created DESC, id LIMIT ?', [limit])
      : await this.db.all<OperationRow>('SELECT * FROM operations WHERE owner = ? ORDER BY created DESC, id LIMIT ?', [owner, limit]);
    return rows.map(fromRow);
  }

  async update(id: string, patch: { status: OperationStatus; result?: unknown; error?: string | null }): Promise<void> {
    await this.db.run('UPDATE operations SET status = ?, result = COALESCE(?, result), error = ?, updated = ? WHERE id = ?', [
      patch.status,
      patch.result === undefined ? null : JSON.stringify(patch.result),
      patch.error ?? null,
      nowIso(),
      id,
    ]);
  }

  /** Marks every pending or running operation failed; returns how many. */
  async failUnfinished(reason: string): Promise<number> {
    return this.db.run(`UPDATE operations SET status = 'failed', error = ?, updated = ? WHERE status IN ('pending', 'running')`, [reason, nowIso()]);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM operations GROUP BY status');
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  async deleteOwnedBy(owner: string): Promise<void> {
    await this.db.run('DELETE FROM operations WHERE owner = ?', [owner]);
  }
}
