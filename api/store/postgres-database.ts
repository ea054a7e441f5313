/**
 * SqlDatabase over PostgreSQL (node-postgres pool), for several API replicas on one database.
 * Queries are the repositories' `?` texts with the placeholders numbered ($1, $2, ...); BIGINT (epoch
 * milliseconds, COUNT(*)) is read as a JS number (every value the store keeps is far below 2^53).
 */
import pg from 'pg';
import { ServiceUnavailableError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { ENGINE_CHANGE_CHANNEL_SQL, installChangeTriggers, PostgresChangeFeed, type EngineChangeListener } from './postgres-change-feed';
import { isDatabaseUnreachable, unreachableAsUnavailable } from './postgres-errors';
import { POSTGRES_MIGRATIONS } from './postgres-schema';
import type { SqlDatabase, SqlExecutor, SqlTransaction, SqlValue } from './sql';

const INT8_OID = 20;
const readBigint = (text: string): number => Number(text);
/** node-postgres' parsers, but BIGINT as a number (node-postgres reads it as a string). */
const typeParser = ((oid: number, format?: 'text') => (oid === INT8_OID ? readBigint : (pg.types.getTypeParser(oid, format) as unknown))) as typeof pg.types.getTypeParser;

/**
 * The advisory lock a replica holds while it migrates: replicas that start together wait for the
 * first one and then find nothing left to do. An arbitrary constant ("BoatLoad" in ASCII).
 */
export const MIGRATION_LOCK = 0x426f61744c6f6164n;

/** `?` placeholders numbered for PostgreSQL (the store's SQL has no `?` inside string literals). */
const numbered = new Map<string, string>();
function toPostgres(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, text);
  }
  return text;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

function executor(target: Queryable, onWrite: (changes: number) => void): SqlExecutor {
  const query = async (sql: string, params: readonly SqlValue[] = []) => {
    try {
      return await target.query(toPostgres(sql), params as SqlValue[]);
    } catch (err) {
      throw unreachableAsUnavailable(err);
    }
  };
  return {
    dialect: 'postgres',
    all: async <Row>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows as Row[],
    get: async <Row>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows[0] as Row | undefined,
    run: async (sql: string, params?: readonly SqlValue[]) => {
      const changes = (await query(sql, params)).rowCount ?? 0;
      onWrite(changes);
      return changes;
    },
  };
}

export interface PostgresOptions {
  url: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** Stops after that many migrations (tests build older stores). */
  version?: number;
  /** How long the change feed waits before connecting again after it lost its connection (default 1000 ms). */
  feedRetryMs?: number;
  logger?: Logger;
}

/** What replicas tell each other about containers (the satellite client's inspection cache). */
export interface EngineChangeNotices {
  /** Tells every replica (this one too) that this replica wrote to the container; best effort. */
  publish(container: string): void;
  subscribe(listener: EngineChangeListener): () => void;
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private writes = 0;
  private readonly direct: SqlExecutor;

  private constructor(
    private readonly pool: pg.Pool,
    /** Every replica's writes, heard (issue 17). */
    readonly changes: PostgresChangeFeed,
  ) {
    this.direct = executor(pool, (changes) => (this.writes += changes));
  }

  /** Connects and migrates (under the migration lock). */
  static async open(options: PostgresOptions): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      types: { getTypeParser: typeParser },
    });
    // An idle client whose connection drops emits 'error' on the pool; without a listener that
    // would end the process. The next query gets a fresh connection (or fails, and says so).
    pool.on('error', () => undefined);
    // The pool's server processes: their writes' notifications come back to this replica's feed too,
    // but they were counted when made.
    const own = new Set<number>();
    pool.on('connect', (client) => own.add((client as pg.PoolClient & { processID: number }).processID));
    pool.on('remove', (client) => own.delete((client as pg.PoolClient & { processID: number }).processID));
    const changes = new PostgresChangeFeed({ url: options.url, retryMs: options.feedRetryMs ?? 1000, logger: options.logger, isOwnSession: (pid) => own.has(pid) });
    try {
      await migratePostgres(pool, options.version ?? POSTGRES_MIGRATIONS.length);
      // Listening before the first read: nothing committed after it goes unheard.
      await changes.start();
    } catch (err) {
      await changes.stop();
      await pool.end();
      throw err;
    }
    return new PostgresDatabase(pool, changes);
  }

  /** The containers replicas wrote to, told and heard. */
  engineChanges(): EngineChangeNotices {
    return {
      publish: (container) => void this.pool.query(ENGINE_CHANGE_CHANNEL_SQL, [container]).catch(() => undefined),
      subscribe: (listener) => this.changes.subscribe(listener),
    };
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.direct.all<Row>(sql, params);
  }

  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined> {
    return this.direct.get<Row>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unreachableAsUnavailable(err);
    }
    let broken: Error | undefined;
    let changes = 0;
    const inner = executor(client, (n) => (changes += n));
    const tx: SqlTransaction = {
      ...inner,
      // hashtextextended: the lock's name as the 64-bit key pg_advisory_xact_lock takes.
      lock: async (name: string) => void (await inner.get('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [name])),
    };
    try {
      await inner.run('BEGIN');
      const result = await work(tx);
      await inner.run('COMMIT');
      this.writes += changes;
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A connection that broke is not given back to the pool.
      if (err instanceof ServiceUnavailableError || isDatabaseUnreachable(err)) broken = err as Error;
      throw unreachableAsUnavailable(err);
    } finally {
      client.release(broken);
    }
  }

  generation(): number {
    // Both only grow: their sum moves whenever either does.
    return this.writes + this.changes.generation();
  }

  catchUp(): Promise<void> {
    return this.changes.catchUp();
  }

  async close(): Promise<void> {
    await this.changes.stop();
    await this.pool.end();
  }
}

/**
 * Runs the migrations not yet applied, each in its own transaction, holding the migration lock (a
 * session advisory lock) throughout: safe when several replicas start at once.
 */
async function migratePostgres(pool: pg.Pool, target: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS boatload_schema (version INTEGER NOT NULL)');
      const row = (await client.query<{ version: number }>('SELECT version FROM boatload_schema')).rows[0];
      if (!row) await client.query('INSERT INTO boatload_schema (version) VALUES (0)');
      for (let version = row?.version ?? 0; version < target; version++) {
        await client.query('BEGIN');
        try {
          await client.query(POSTGRES_MIGRATIONS[version]);
          await client.query('UPDATE boatload_schema SET version = $1', [version + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      // At every start (cheap, idempotent), so that every table, also one a later migration adds, notifies.
      if (target === POSTGRES_MIGRATIONS.length) await installChangeTriggers(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.release();
  }
}
