/**
 * Functions' invocations in the store, shared by every API replica (issue 17): a row per invocation,
 * in flight from its admission until its replica finishes it, or until its deadline passes (the
 * replica renews the deadline while the invocation runs; one that died renews it no more, so its
 * slots free themselves). A finished row is the invocation's note (GET's last invocations) until
 * newer ones push it out; the newest row's time is the function's capacity clock (idle_timeout).
 */
import type { SqlDatabase } from './sql';

export interface InvocationNote {
  at: string;
  status: 'ok' | 'failed' | 'timed out';
  duration_ms: number;
  cold: boolean;
}

export type Admission = { admitted: true } | { admitted: false; inFlight: number };

/** A function's invocations now: how many are in flight, and when the last one began or ended (null: never). */
export interface FunctionActivity {
  inFlight: number;
  lastActiveMs: number | null;
}

/** How many finished invocations a function keeps (GET shows the noted ones among them). */
export const KEPT_INVOCATIONS = 10;

interface NoteRow {
  at: string;
  status: InvocationNote['status'];
  duration_ms: number;
  cold: number;
}

interface ActivityRow {
  owner: string;
  name: string;
  in_flight: number;
  last_active_ms: number | null;
}

export const functionKey = (owner: string, name: string): string => `${owner}/${name}`;

export class FunctionInvocationRepository {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Admits invocation `id` unless the function has `limit` in flight already (then nothing is
   * written). One transaction holding the function's lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
   * advisory lock), so that two replicas never both take the last slot.
   */
  admit(input: { id: string; owner: string; name: string; limit: number; nowMs: number; deadlineMs: number }): Promise<Admission> {
    const { id, owner, name, limit, nowMs, deadlineMs } = input;
    return this.db.transaction(async (tx) => {
      await tx.lock(`function:${functionKey(owner, name)}`);
      const row = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM function_invocations WHERE owner = ? AND name = ? AND finished_ms IS NULL AND deadline_ms > ?', [owner, name, nowMs]);
      const inFlight = row?.n ?? 0;
      if (inFlight >= limit) return { admitted: false, inFlight };
      await tx.run('INSERT INTO function_invocations (id, owner, name, started_ms, deadline_ms) VALUES (?, ?, ?, ?, ?)', [id, owner, name, nowMs, deadlineMs]);
      return { admitted: true };
    });
  }

  /** Moves the deadline of invocations still in flight (their replica is alive). */
  async renew(ids: string[], deadlineMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.run(`UPDATE function_invocations SET deadline_ms = ? WHERE finished_ms IS NULL AND id IN (${ids.map(() => '?').join(', ')})`, [deadlineMs, ...ids]);
  }

  /**
   * Ends an invocation: with its note, or without one (it failed before it ran: it frees its slot and
   * moves the clock, but shows nowhere). Older finished rows of the function beyond the kept ones go.
   */
  async finish(input: { id: string; owner: string; name: string; nowMs: number; note: InvocationNote | null }): Promise<void> {
    const { id, owner, name, nowMs, note } = input;
    await this.db.run('UPDATE function_invocations SET finished_ms = ?, status = ?, duration_ms = ?, cold = ?, at = ? WHERE id = ?', [
      nowMs,
      note?.status ?? null,
      note?.duration_ms ?? null,
      note === null ? null : note.cold ? 1 : 0,
      note?.at ?? null,
      id,
    ]);
    // The noted rows beyond the kept ones go; of the rows without a note (an invocation that failed
    // before it ran, a dead replica's swept slot) only this one stays, as the capacity clock's mark,
    // so that they never push the notes out.
    await this.db.run(
      `DELETE FROM function_invocations WHERE owner = ? AND name = ? AND finished_ms IS NOT NULL AND id <> ? AND (status IS NULL OR id NOT IN (
         SELECT id FROM function_invocations WHERE owner = ? AND name = ? AND finished_ms IS NOT NULL AND status IS NOT NULL ORDER BY finished_ms DESC, id LIMIT ${KEPT_INVOCATIONS}))`,
      [owner, name, id, owner, name],
    );
  }

  /** The function's last noted invocations, newest first. */
  async last(owner: string, name: string): Promise<InvocationNote[]> {
    const rows = await this.db.all<NoteRow>(
      `SELECT at, status, duration_ms, cold FROM function_invocations WHERE owner = ? AND name = ? AND finished_ms IS NOT NULL AND status IS NOT NULL ORDER BY finished_ms DESC, id LIMIT ${KEPT_INVOCATIONS}`,
      [owner, name],
    );
    return rows.map((row) => ({ at: row.at, status: row.status, duration_ms: row.duration_ms, cold: row.cold === 1 }));
  }

  /** Every function's activity (or one owner's), by functionKey; functions never invoked are absent. */
  async activity(nowMs: number, owner?: string): Promise<Map<string, FunctionActivity>> {
    const select = `SELECT owner, name,
                           COUNT(CASE WHEN finished_ms IS NULL AND deadline_ms > ? THEN 1 END) AS in_flight,
                           MAX(COALESCE(finished_ms, started_ms)) AS last_active_ms
                    FROM function_invocations`;
    const rows =
      owner === undefined
        ? await this.db.all<ActivityRow>(`${select} GROUP BY owner, name`, [nowMs])
        : await this.db.all<ActivityRow>(`${select} WHERE owner = ? GROUP BY owner, name`, [nowMs, owner]);
    return new Map(rows.map((row) => [functionKey(row.owner, row.name), { inFlight: row.in_flight, lastActiveMs: row.last_active_ms }]));
  }

  /** One function's activity. */
  async activityOf(owner: string, name: string, nowMs: number): Promise<FunctionActivity> {
    const row = await this.db.get<{ in_flight: number; last_active_ms: number | null }>(
      `SELECT COUNT(CASE WHEN finished_ms IS NULL AND deadline_ms > ? THEN 1 END) AS in_flight, MAX(COALESCE(finished_ms, started_ms)) AS last_active_ms
       FROM function_invocations WHERE owner = ? AND name = ?`,
      [nowMs, owner, name],
    );
    return { inFlight: row?.in_flight ?? 0, lastActiveMs: row?.last_active_ms ?? null };
  }

  /** In-flight rows whose deadline passed long ago (their replica died) become plain clock marks. */
  async sweep(nowMs: number): Promise<number> {
    return this.db.run('UPDATE function_invocations SET finished_ms = deadline_ms WHERE finished_ms IS NULL AND deadline_ms <= ?', [nowMs]);
  }

  /** The function is deleted: its invocations go (one defined again under the name starts afresh). */
  async forget(owner: string, name: string): Promise<void> {
    await this.db.run('DELETE FROM function_invocations WHERE owner = ? AND name = ?', [owner, name]);
  }
}
