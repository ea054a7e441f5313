import { randomBytes } from 'node:crypto';
import { nowIso } from './database';
import type { SqlDatabase } from './sql';

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
  constructor(private readonly db: SqlDatabase) {}

  async find(username: string): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE username = ?', [username]);
    return row && fromRow(row);
  }

  async list(): Promise<User[]> {
    return (await this.db.all<UserRow>('SELECT * FROM users ORDER BY username')).map(fromRow);
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n ?? 0;
  }

  /** Inserts the user; false when the username is taken. */
  async insert(user: { username: string; password: string; isAdmin: boolean }): Promise<boolean> {
    const changes = await this.db.run(
      'INSERT INTO users (username, password, is_admin, created, credential_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING',
      [user.username, user.password, user.isAdmin ? 1 : 0, nowIso(), newCredentialId()],
    );
    return changes === 1;
  }

  /** Sets the password hash and draws a new credential id (earlier tokens stop working). */
  async setPassword(username: string, password: string): Promise<void> {
    await this.db.run('UPDATE users SET password = ?, credential_id = ? WHERE username = ?', [password, newCredentialId(), username]);
  }

  /** Draws a new credential id (earlier tokens stop working); false when there is no such user. */
  async renewCredentials(username: string): Promise<boolean> {
    return (await this.db.run('UPDATE users SET credential_id = ? WHERE username = ?', [newCredentialId(), username])) === 1;
  }

  async delete(username: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM users WHERE username = ?', [username])) === 1;
  }
}
