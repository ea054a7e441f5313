/**
 * The scheduler's leader lease on PostgreSQL (issue 17: exactly one replica runs the converge loop):
 * a session advisory lock held on a connection of its own. PostgreSQL releases it the moment that
 * session ends, so a replica that dies (or loses its connection) frees it for another replica at once,
 * and a replica whose connection drops learns it has lost the lease (`onLost`) and must stop acting.
 * Not wired into the scheduler yet; SQLite needs none (one API process per file).
 */
import pg from 'pg';

/** The lock's key: an arbitrary constant ("BLleader" in ASCII), distinct from the migration lock. */
export const LEADER_LOCK = 0x424c6c6561646572n;

export interface LeaderLeaseOptions {
  url: string;
  /** How often a replica without the lease tries to take it (ms). */
  retryMs: number;
  /** Called once the lease is held. */
  onAcquired: () => void;
  /** Called when a held lease is lost (its connection ended): stop acting at once. */
  onLost: (reason: string) => void;
}

export class LeaderLease {
  private client: pg.Client | null = null;
  private held = false;
  private stopped = true;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;

  constructor(private readonly options: LeaderLeaseOptions) {}

  get isLeader(): boolean {
    return this.held;
  }

  /** Tries now, then every retryMs while the lease is not held (also after losing it). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Gives the lease up (ends its session) and stops trying. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    const client = this.client;
    this.client = null;
    this.held = false;
    await client?.end().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.held) await this.tryOnce();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.retryMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async tryOnce(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      const row = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK.toString()])).rows[0];
      if (row?.locked && !this.stopped) {
        this.held = true;
        this.options.onAcquired();
      }
    } catch {
      // The server is unreachable or the connection broke: the next try makes a new connection.
      const client = this.client;
      this.client = null;
      await client?.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url });
    // The session is the lease: when it ends (the server restarted, the connection was cut), so does the lease.
    const ended = (reason: string): void => {
      if (this.client !== client) return;
      this.client = null;
      void client.end().catch(() => undefined);
      if (!this.held) return;
      this.held = false;
      if (!this.stopped) this.options.onLost(reason);
    };
    client.on('error', (err) => ended(`connection error: ${err.message}`));
    client.on('end', () => ended('connection ended'));
    this.client = client;
    await client.connect();
    return client;
  }
}
