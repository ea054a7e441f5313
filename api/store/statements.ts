/**
 * Prepared statements, prepared once per SQL text and reused: preparing parses and plans the SQL
 * again on every call, which shows on hot paths (a unit read or write per request). The SQL texts
 * a repository builds are finitely many (fixed queries, or column lists from a fixed set).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  /** The prepared statement for `sql`, prepared on first use. */
  get(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
