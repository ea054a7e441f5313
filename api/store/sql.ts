/**
 * The store's one interface to SQL, spoken by two dialects: the embedded SQLite file (the default,
 * api/store/sqlite-database.ts) and PostgreSQL for several API replicas (api/store/postgres-database.ts).
 * Repositories write each query once, with `?` placeholders, in the SQL both understand (ON CONFLICT
 * upserts, no INSERT OR ...); the few expressions that differ come from `dialectSql` below.
 * Every call returns a Promise so that a network database can implement it.
 */

/** A value bound to a `?` placeholder (booleans are stored as 0/1, JSON as text, bytes as BLOB/BYTEA). */
export type SqlValue = string | number | null | Buffer;

export type Dialect = 'sqlite' | 'postgres';

export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Every row of a query. */
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The first row of a query, if any. */
  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs a statement; resolves to how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlTransaction extends SqlExecutor {
  /**
   * Serializes this transaction with every other one that takes the same lock, until it ends:
   * PostgreSQL's transaction-scoped advisory lock (READ COMMITTED alone would let two transactions
   * both count "below the limit"). On SQLite a no-op: BEGIN IMMEDIATE already serializes writers.
   */
  lock(name: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one transaction: every write in it lands, or none. `work` must issue its
   * statements through `tx` (statements on the database itself run outside the transaction), and
   * await nothing but them: on SQLite the file's write lock is held until it returns, and other
   * statements of this process wait for it.
   */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * A number that moves with every write (answers computed from the store are cached until it
   * moves). SQLite: total_changes() of the one connection. PostgreSQL: this replica's writes plus
   * every replica's writes as their notifications arrive (api/store/postgres-change-feed.ts); while
   * the notifications cannot be heard it moves on every call.
   */
  generation(): number;
  /**
   * Resolves once `generation()` reflects every write committed before the call (by any replica):
   * await it before trusting a cached answer. SQLite: at once (one process sees its own writes).
   */
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

/** The expressions that differ between the dialects. */
export const dialectSql = {
  /** The value at a dotted path (`a.b`) of a JSON text column, as text (NULL when absent). Path: fixed identifiers only. */
  jsonText(dialect: Dialect, column: string, path: string): string {
    return dialect === 'sqlite' ? `json_extract(${column}, '$.${path}')` : `(${column}::jsonb #>> '{${path.split('.').join(',')}}')`;
  },
};
