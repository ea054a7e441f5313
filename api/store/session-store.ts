/** express-session's store in the SQLite file, so sessions survive an API restart. */
import session from 'express-session';
import type { Db } from './database';

const DEFAULT_TTL_MS = 24 * 3600 * 1000;

export class SqliteSessionStore extends session.Store {
  private lastSweepMs = 0;

  constructor(private readonly db: Db) {
    super();
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    try {
      const row = this.db.prepare('SELECT data, expires_ms FROM sessions WHERE sid = ?').get(sid) as { data: string; expires_ms: number } | undefined;
      if (!row || row.expires_ms < Date.now()) return callback(null, null);
      callback(null, JSON.parse(row.data) as session.SessionData);
    } catch (err) {
      callback(err);
    }
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    try {
      const expires = data.cookie?.expires ? new Date(data.cookie.expires).getTime() : Date.now() + DEFAULT_TTL_MS;
      this.db.prepare('INSERT OR REPLACE INTO sessions (sid, data, expires_ms) VALUES (?, ?, ?)').run(sid, JSON.stringify(data), expires);
      this.sweep();
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    try {
      this.db.prepare('DELETE FROM sessions WHERE sid = ?').run(sid);
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  override touch(sid: string, data: session.SessionData, callback?: () => void): void {
    const expires = data.cookie?.expires ? new Date(data.cookie.expires).getTime() : Date.now() + DEFAULT_TTL_MS;
    this.db.prepare('UPDATE sessions SET expires_ms = ? WHERE sid = ?').run(expires, sid);
    callback?.();
  }

  /** Removes every session of a user (deleted users, password changes). */
  destroyForUser(username: string): void {
    this.db.prepare("DELETE FROM sessions WHERE json_extract(data, '$.passport.user') = ?").run(username);
  }

  /** Expired sessions are deleted at most once a minute, on writes. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweepMs < 60000) return;
    this.lastSweepMs = now;
    this.db.prepare('DELETE FROM sessions WHERE expires_ms < ?').run(now);
  }
}
