import { randomBytes } from 'node:crypto';
import type { Db } from './database';
import { StatementCache } from './statements';
import { nowIso } from './database';

export interface User {
  username: string;
  /** Django-compatible pbkdf2_sha256$<iterations>$<salt>$<hash>. */
  password: string;
  isAdmin: boolean;
  created: string;
  /**
   * Random, drawn anew when the user is created, changes password or is logged out everywhere.
   * Tokens carry it; a token with another one is refused.
   */
  credentialId: string;
}

interface UserRow {
  username: string;
  password: string;
  is_admin: number;
  created: string;
  credential_id: string;
}

const fromRow = (row: UserRow): User => ({ username: row.username, password: row.password, isAdmin: row.is_admin === 1, created: row.created, credentialId: row.credential_id });

const newCredentialId = (): string => randomBytes(16).toString('hex');

export class UserRepository {
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  find(username: string): User | undefined {
    const row = this.statements.get('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && fromRow(row);
  }

  list(): User[] {
    return (this.statements.get('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(fromRow);
  }

  count(): number {
    return (this.statements.get('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  /** Inserts the user; false when the username is taken. */
  insert(user: { username: string; password: string; isAdmin: boolean }): boolean {
    const result = this.statements
      .get('INSERT OR IGNORE INTO users (username, password, is_admin, created, credential_id) VALUES (?, ?, ?, ?, ?)')
      .run(user.username, user.password, user.isAdmin ? 1 : 0, nowIso(), newCredentialId());
    return result.changes === 1;
  }

  /** Sets the password hash and draws a new credential id (earlier tokens stop working). */
  setPassword(username: string, password: string): void {
    this.statements.get('UPDATE users SET password = ?, credential_id = ? WHERE username = ?').run(password, newCredentialId(), username);
  }

  /** Draws a new credential id (earlier tokens stop working); false when there is no such user. */
  renewCredentials(username: string): boolean {
    return this.statements.get('UPDATE users SET credential_id = ? WHERE username = ?').run(newCredentialId(), username).changes === 1;
  }

  delete(username: string): boolean {
    return this.statements.get('DELETE FROM users WHERE username = ?').run(username).changes === 1;
  }
}
