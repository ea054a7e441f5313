/**
 * Login-throttling counts in the store: one row per key (`user:<name>`, `addr:<address>`) with the
 * failures counted in its window, which starts at the key's first failure. A row whose window has
 * ended counts as zero and is swept; a live row is never dropped to make room for others.
 */
import type { Db } from './database';
import { StatementCache } from './statements';

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
  private readonly statements: StatementCache;
  private readonly reserveAll: (input: { keys: LimitedKey[]; nowMs: number; windowMs: number }) => Reservation;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
    this.reserveAll = (input) => db.transaction(() => this.reserveInTransaction(input)).immediate();
  }

  /**
   * Counts one more failure against every key, unless one of them is already at its limit (then
   * nothing is written). One IMMEDIATE transaction: no other writer (another request of this
   * process or another process on the same file) sees the counts between the check and the write.
   */
  reserve(input: { keys: LimitedKey[]; nowMs: number; windowMs: number }): Reservation {
    return this.reserveAll(input);
  }

  private reserveInTransaction({ keys, nowMs, windowMs }: { keys: LimitedKey[]; nowMs: number; windowMs: number }): Reservation {
    const rows = keys.map(({ key }) => this.live(key, nowMs, windowMs));
    for (const [i, { key, limit }] of keys.entries()) {
      const row = rows[i];
      if (row && row.failures >= limit) return { reserved: false, key, retryAfterMs: row.window_start_ms + windowMs - nowMs };
    }
    const upsert = this.statements.get('INSERT OR REPLACE INTO login_failures (key, failures, window_start_ms) VALUES (?, ?, ?)');
    for (const [i, { key }] of keys.entries()) {
      const row = rows[i];
      upsert.run(key, (row?.failures ?? 0) + 1, row?.window_start_ms ?? nowMs);
    }
    return { reserved: true };
  }

  /** Takes back one counted failure of a key whose window is still open (an attempt that succeeded). */
  release(input: { key: string; nowMs: number; windowMs: number }): void {
    this.statements
      .get('UPDATE login_failures SET failures = failures - 1 WHERE key = ? AND failures > 0 AND window_start_ms > ?')
      .run(input.key, input.nowMs - input.windowMs);
  }

  clear(key: string): void {
    this.statements.get('DELETE FROM login_failures WHERE key = ?').run(key);
  }

  /** Deletes the rows whose window has ended. */
  sweep(input: { nowMs: number; windowMs: number }): number {
    return this.statements.get('DELETE FROM login_failures WHERE window_start_ms <= ?').run(input.nowMs - input.windowMs).changes;
  }

  count(): number {
    return (this.statements.get('SELECT COUNT(*) AS n FROM login_failures').get() as { n: number }).n;
  }

  private live(key: string, nowMs: number, windowMs: number): Row | undefined {
    const row = this.statements.get('SELECT failures, window_start_ms FROM login_failures WHERE key = ?').get(key) as Row | undefined;
    return row && row.window_start_ms > nowMs - windowMs ? row : undefined;
  }
}
