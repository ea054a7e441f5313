/**
 * SqlDatabase over the embedded SQLite file (better-sqlite3, synchronous). Statements are prepared
 * once per SQL text (StatementCache). better-sqlite3 has one connection: while a transaction is
 * open across awaits, a statement from any other async context waits until it ends, so it neither
 * joins the transaction nor is rolled back with it (AsyncLocalStorage tells the transaction's own
 * statements from the others).
 *
 * The AsyncLocalStorage is enabled only while a transaction is open: an enabled one costs every async
 * resource the process creates from then on (Node copies each enabled storage's value onto it), and
 * Node keeps it enabled, and alive, until `disable()` — so a process that opened many databases (the
 * test suite: one per started API) would otherwise slow down with each of them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db } from './database';
import type { SqlDatabase, SqlTransaction, SqlValue } from './sql';
import { StatementCache } from './statements';

export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly statements: StatementCache;
  private readonly inTransaction = new AsyncLocalStorage<symbol>();
  /** The open transaction's token and a promise that settles when it ends; null when none is open. */
  private open: { token: symbol; ended: Promise<void> } | null = null;
  private readonly totalChanges: () => number;

  constructor(readonly db: Db) {
    this.statements = new StatementCache(db);
    const changes = db.prepare('SELECT total_changes()').pluck();
    this.totalChanges = () => changes.get() as number;
  }

  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    for (let wait = this.othersTransaction(); wait; wait = this.othersTransaction()) await wait;
    return this.statements.get(sql).all(...params) as Row[];
  }

  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    for (let wait = this.othersTransaction(); wait; wait = this.othersTransaction()) await wait;
    return this.statements.get(sql).get(...params) as Row | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    for (let wait = this.othersTransaction(); wait; wait = this.othersTransaction()) await wait;
    return this.statements.get(sql).run(...params).changes;
  }

  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    if (this.open && this.inTransaction.getStore() === this.open.token) throw new Error('nested store transactions are not supported');
    // Checked again after every wait, with no await between the check and taking the connection.
    for (let wait = this.othersTransaction(); wait; wait = this.othersTransaction()) await wait;
    let end!: () => void;
    const token = Symbol('transaction');
    this.open = { token, ended: new Promise<void>((resolve) => (end = resolve)) };
    const tx: SqlTransaction = { dialect: 'sqlite', all: (s, p) => this.all(s, p), get: (s, p) => this.get(s, p), run: (s, p) => this.run(s, p), lock: async () => undefined };
    try {
      // IMMEDIATE: the write lock is taken now, so another process on the same file cannot write
      // between this transaction's reads and its writes.
      this.statements.get('BEGIN IMMEDIATE').run();
      try {
        const result = await this.inTransaction.run(token, () => work(tx));
        this.statements.get('COMMIT').run();
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.statements.get('ROLLBACK').run();
        throw err;
      }
    } finally {
      this.open = null;
      // No transaction is open now, so no statement needs to tell its context apart; run() enables it again.
      this.inTransaction.disable();
      end();
    }
  }

  generation(): number {
    return this.totalChanges();
  }

  async catchUp(): Promise<void> {
    // One process: every write it can see is already counted.
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /**
   * The end of the open transaction when it belongs to another async context (the one connection is
   * its until then); null when a statement may run now. Callers check again after every wait, with no
   * await between the check and the statement.
   */
  private othersTransaction(): Promise<void> | null {
    return this.open && this.inTransaction.getStore() !== this.open.token ? this.open.ended : null;
  }
}
