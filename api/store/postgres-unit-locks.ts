/**
 * UnitLocks on PostgreSQL: a session advisory lock per unit name, all of this replica's on one
 * connection of their own (a lock held for a whole create must not hold one of the store's pooled
 * connections). Taken with pg_try_advisory_lock and tried again while another replica holds it, so
 * that waiting never blocks the connection for the other units. A replica that dies ends its session
 * and with it every lock it held. When the connection is lost while work runs, that work goes on
 * (an engine call cannot be taken back) but its lock is gone: the next work on the unit may overlap
 * it; the store's writes stay consistent, and the leader's reconcile converges the unit again.
 */
import pg from 'pg';
import { ServiceUnavailableError } from '../../common/errors';
import type { UnitLocks } from '../../units/scheduler/unit-locks';

export interface PostgresUnitLocksOptions {
  url: string;
  /** How long to wait before trying a lock another replica holds again (default 50 ms). */
  retryMs?: number;
}

export class PostgresUnitLocks implements UnitLocks {
  private current: { client: pg.Client; ready: Promise<pg.Client> } | null = null;
  private closed = false;
  /** node-postgres runs one query at a time per connection; the locks' queries wait their turn here. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PostgresUnitLocksOptions) {}

  async hold<T>(unit: string, work: () => Promise<T>): Promise<T> {
    const key = `boatload-unit:${unit}`;
    let holder: pg.Client;
    for (;;) {
      if (this.closed) throw new ServiceUnavailableError('The API is shutting down.');
      holder = await this.connection();
      const locked = await this.query<{ locked: boolean }>(holder, 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key]);
      if (locked.rows[0]?.locked) break;
      await new Promise((resolve) => setTimeout(resolve, this.options.retryMs ?? 50));
    }
    try {
      return await work();
    } finally {
      // Released on the session that took it; if that session ended meanwhile, so did the lock.
      if (this.current?.client === holder) await this.inTurn(() => holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = null;
    await current?.client.end().catch(() => undefined);
  }

  private async query<Row extends pg.QueryResultRow>(client: pg.Client, text: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
    try {
      return await this.inTurn(() => client.query<Row>(text, values));
    } catch (err) {
      this.drop(client);
      throw new ServiceUnavailableError(`The database is unavailable: ${(err as Error).message}.`);
    }
  }

  private inTurn<T>(query: () => Promise<T>): Promise<T> {
    const result = this.turn.then(query);
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** The locks' connection, made on first use and again after it was lost (the server restarted). */
  private async connection(): Promise<pg.Client> {
    if (!this.current) {
      const client = new pg.Client({ connectionString: this.options.url, keepAlive: true, application_name: 'boatload unit locks' });
      client.on('error', () => this.drop(client));
      client.on('end', () => this.drop(client));
      this.current = { client, ready: client.connect().then(() => client) };
    }
    const { client, ready } = this.current;
    try {
      return await ready;
    } catch (err) {
      this.drop(client);
      throw new ServiceUnavailableError(`The database is unavailable: ${(err as Error).message}.`);
    }
  }

  private drop(client: pg.Client): void {
    if (this.current?.client === client) this.current = null;
    void client.end().catch(() => undefined);
  }
}
