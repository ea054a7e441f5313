/** express-session's store in the store's database, so sessions survive an API restart (and, on PostgreSQL, are shared by every replica). */
import session from 'express-session';
import { dialectSql, type SqlDatabase } from './sql';

const DEFAULT_TTL_MS = 24 * 3600 * 1000;

const expiryOf = (data: session.SessionData): number => (data.cookie?.expires ? new Date(data.cookie.expires).getTime() : Date.now() + DEFAULT_TTL_MS);

export class StoreSessionStore extends session.Store {
  private lastSweepMs = 0;

  constructor(private readonly db: SqlDatabase) {
    super();
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.db.get<{ data: string; expires_ms: number }>('SELECT data, expires_ms FROM sessions WHERE sid = ?', [sid]).then(
      (row) => (!row || row.expires_ms < Date.now() ? callback(null, null) : callback(null, JSON.parse(row.data) as session.SessionData)),
      (err: unknown) => callback(err),
    );
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.db
      .run('INSERT INTO sessions (sid, data, expires_ms) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_ms = excluded.expires_ms', [sid, JSON.stringify(data), expiryOf(data)])
      .then(() => this.sweep())
      .then(
        () => callback?.(),
        (err: unknown) => callback?.(err),
      );
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.db.run('DELETE FROM sessions WHERE sid = ?', [sid]).then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    );
  }

  override touch(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.db.run('UPDATE sessions SET expires_ms = ? WHERE sid = ?', [expiryOf(data), sid]).then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    );
  }

  /** Removes every session of a user (deleted users, password changes). */
  async destroyForUser(username: string): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE ${dialectSql.jsonText(this.db.dialect, 'data', 'passport.user')} = ?`, [username]);
  }

  /** Expired sessions are deleted at most once a minute, on writes. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweepMs < 60000) return;
    this.lastSweepMs = now;
    await this.db.run('DELETE FROM sessions WHERE expires_ms < ?', [now]);
  }
}
