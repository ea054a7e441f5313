/**
 * Login-throttling counts in the store: one row per key (`user:<name>`, `addr:<address>`) with the
 * failures counted in its window, which starts at the key's first failure. A row whose window has
 * ended counts as zero and is swept; a live row is never dropped to make room for others.
 */
import type { SqlDatabase, SqlExecutor } from './sql';

export interface LimitedKey {
  key: string;
  limit: number;
}

export type Reservation = { reserved: true } | { reserved: false; key: string; retryAfterMs: number };

interface Row {
  failures: number;
  window_start_ms: number;
}

export class LoginFailureRepository {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Counts one more failure against every key, unless one of them is already at its limit (then
   * nothing is written). One transaction holding the `login_failures` lock (SQLite: BEGIN IMMEDIATE;
   * PostgreSQL: an advisory lock): no other writer (another request, another process on the same
   * file, another replica) sees the counts between the check and the write.
   */
  async reserve({ keys, nowMs, windowMs }: { keys: LimitedKey[]; nowMs: number; windowMs: number }): Promise<Reservation> {
    return this.db.transaction(async (tx) => {
      await tx.lock('login_failures');
      const rows: Array<Row | undefined> = [];
      for (const { key } of keys) rows.push(await this.live(tx, key, nowMs, windowMs));
      for (const [i, { key, limit }] of keys.entries()) {
        const row = rows[i];
        if (row && row.failures >= limit) return { reserved: false, key, retryAfterMs: row.window_start_ms + windowMs - nowMs };
      }
      for (const [i, { key }] of keys.entries()) {
        const row = rows[i];
        await tx.run(
          `INSERT INTO login_failures (key, failures, window_start_ms) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start_ms = excluded.window_start_ms`,
          [key, (row?.failures ?? 0) + 1, row?.window_start_ms ?? nowMs],
        );
      }
      return { reserved: true };
    });
  }

  /** Takes back one counted failure of a key whose window is still open (an attempt that succeeded). */
  async release(input: { key: string; nowMs: number; windowMs: number }): Promise<void> {
    await this.db.run('UPDATE login_failures SET failures = failures - 1 WHERE key = ? AND failures > 0 AND window_start_ms > ?', [input.key, input.nowMs - input.windowMs]);
  }

  async clear(key: string): Promise<void> {
    await this.db.run('DELETE FROM login_failures WHERE key = ?', [key]);
  }

  /** Deletes the rows whose window has ended. */
  async sweep(input: { nowMs: number; windowMs: number }): Promise<number> {
    return this.db.run('DELETE FROM login_failures WHERE window_start_ms <= ?', [input.nowMs - input.windowMs]);
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM login_failures'))?.n ?? 0;
  }

  private async live(tx: SqlExecutor, key: string, nowMs: number, windowMs: number): Promise<Row | undefined> {
    const row = await tx.get<Row>('SELECT failures, window_start_ms FROM login_failures WHERE key = ?', [key]);
    return row && row.window_start_ms > nowMs - windowMs ? row : undefined;
  }
}
