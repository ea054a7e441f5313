/**
 * What the other API replicas changed, heard on one PostgreSQL connection of its own (LISTEN), so
 * that each replica's caches follow every replica's writes (issue 17):
 *
 * - `boatload_store`: a statement-level trigger on the store's tables (installed at start-up, see
 *   `installChangeTriggers`) notifies on every write; PostgreSQL delivers it when the writing
 *   transaction commits, to every listener. `generation()` moves with each one from another replica
 *   (this replica's own writes move the store's generation as they are made).
 * - `boatload_engine`: a replica that wrote to a container through a satellite names it (`publish`),
 *   so that the others drop their cached inspection of it (each replica's own satellite event feed
 *   tells it too; this does not wait for that feed).
 *
 * While the connection is down nothing heard can be trusted: `generation()` moves on every call
 * (no cached listing is reused) and subscribers are told the feed is not live; the feed connects
 * again every retryMs. `catchUp()` is a round trip on the listening connection: PostgreSQL sends a
 * listener every notification committed before a query arrives before that query's answer, so once
 * it resolves, every write acknowledged before the call has been heard.
 */
import pg from 'pg';
import type { Logger } from '../../common/logger';

export const STORE_CHANNEL = 'boatload_store';
export const ENGINE_CHANNEL = 'boatload_engine';
/** The feed's sessions' application_name (pg_stat_activity shows which session is what). */
export const CHANGE_FEED_APPLICATION = 'boatload change feed';
/** Publishes one container's name ($1) on the engine channel. */
export const ENGINE_CHANGE_CHANNEL_SQL = `SELECT pg_notify('${ENGINE_CHANNEL}', $1)`;

/** Tables whose writes feed no cached answer (sessions are touched on every request, function invocations on every invoke). */
const QUIET_TABLES = ['boatload_schema', 'sessions', 'login_failures', 'function_invocations'];

/**
 * Creates the notifying trigger on every table of the store that lacks it but the quiet ones: run
 * at every start-up after the migrations, under their lock, so that tables added later get one too.
 */
export async function installChangeTriggers(client: Pick<pg.Client, 'query'>): Promise<void> {
  await client.query(`CREATE OR REPLACE FUNCTION boatload_notify_store() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${STORE_CHANNEL}', TG_TABLE_NAME);
      RETURN NULL;
    END $$`);
  // Only where it is missing: creating a trigger locks its table against writes for a moment.
  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT (c.relname = ANY($1::text[]))
        AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'boatload_notify_store')
      ORDER BY c.relname`,
    [QUIET_TABLES],
  );
  for (const { name } of tables.rows) {
    await client.query(`CREATE OR REPLACE TRIGGER boatload_notify_store AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${pg.escapeIdentifier(name)} FOR EACH STATEMENT EXECUTE FUNCTION boatload_notify_store()`);
  }
}

export interface ChangeFeedOptions {
  url: string;
  /** How long to wait before connecting again after the connection was lost (ms). */
  retryMs: number;
  /**
   * Whether a server process (a notification's sender) is one of this replica's own connections:
   * its writes are counted already, when they are made (default: none is).
   */
  isOwnSession?: (processId: number) => boolean;
  logger?: Logger;
}

export interface EngineChangeListener {
  /** Another replica (or this one) wrote to this container (a name or an engine id). */
  changed(container: string): void;
  /** The feed is (or is no longer) live: while it is not, what was heard before cannot be trusted. */
  live(live: boolean): void;
}

export class PostgresChangeFeed {
  private client: pg.Client | null = null;
  private live = false;
  private stopped = true;
  private heard = 0;
  private retry: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<EngineChangeListener>();
  private nextCatchUp: Promise<void> | null = null;
  private runningCatchUp: Promise<void> | null = null;

  constructor(private readonly options: ChangeFeedOptions) {}

  get isLive(): boolean {
    return this.live;
  }

  /** Connects (and keeps connecting) until `stop`. Answers once the first attempt ended. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    this.setLive(false);
    await client?.end().catch(() => undefined);
  }

  /** Moves with every write any replica commits; while the feed is down, with every call. */
  generation(): number {
    return this.live ? this.heard : ++this.heard;
  }

  subscribe(listener: EngineChangeListener): () => void {
    this.listeners.add(listener);
    listener.live(this.live);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once every notification committed before the call has been heard (a round trip on the
   * listening connection); at once while the feed is down (then nothing is cached anyway).
   */
  catchUp(): Promise<void> {
    // A round trip already on its way may have been sent before the caller's write committed: the
    // caller waits for the next one, which every caller arriving meanwhile shares.
    if (!this.nextCatchUp) {
      const next: Promise<void> = (this.runningCatchUp ?? Promise.resolve()).then(async () => {
        this.nextCatchUp = null;
        this.runningCatchUp = next;
        try {
          await (this.live ? this.client?.query('SELECT 1') : undefined);
        } catch {
          // The connection broke: the feed is no longer live (its 'error' says so), nothing is cached.
        } finally {
          if (this.runningCatchUp === next) this.runningCatchUp = null;
        }
      });
      this.nextCatchUp = next;
    }
    return this.nextCatchUp;
  }

  private setLive(live: boolean): void {
    // Either way, whatever was cached under the old generation is not reused.
    this.heard++;
    if (live === this.live) return;
    this.live = live;
    for (const listener of [...this.listeners]) listener.live(live);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true, application_name: CHANGE_FEED_APPLICATION });
    const lost = (reason: string): void => {
      if (this.client !== client) return;
      this.client = null;
      this.setLive(false);
      void client.end().catch(() => undefined);
      this.options.logger?.warn(`change feed lost (${reason}): caches are bypassed until it is back`);
      this.later();
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (message) => {
      if (message.channel === STORE_CHANNEL) {
        if (!this.options.isOwnSession?.(message.processId)) this.heard++;
      }
      else if (message.channel === ENGINE_CHANNEL && message.payload) for (const listener of [...this.listeners]) listener.changed(message.payload);
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${STORE_CHANNEL}`);
      await client.query(`LISTEN ${ENGINE_CHANNEL}`);
      if (this.client !== client) return;
      this.setLive(true);
    } catch (err) {
      if (this.client === client) {
        this.client = null;
        void client.end().catch(() => undefined);
        this.later();
      }
      this.options.logger?.debug(`change feed: ${(err as Error).message}`);
    }
  }

  private later(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, this.options.retryMs);
    this.retry.unref();
  }
}
