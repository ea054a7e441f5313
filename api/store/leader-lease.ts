/**
 * The scheduler's leader lease on PostgreSQL (issue 17: exactly one replica runs the converge loop):
 * a session advisory lock held on a connection of its own. PostgreSQL releases it the moment that
 * session ends, so a replica that dies (or loses its connection) frees it for another replica at once,
 * and a replica whose connection drops learns it has lost the lease (`onLost`) and must stop acting.
 * While it holds the lease a replica asks its session every retryMs whether it is still there (a
 * connection cut without a word, e.g. a network partition, is noticed within about 2 × retryMs), and
 * the session asks the server to probe the connection with TCP keepalives, so that the server frees
 * the lock of a leader that vanished without closing its connection within about 5 s; the leader
 * itself has stopped by then. SQLite needs none of this (one API process per file: `soleLeader`).
 */
import pg from 'pg';
import type { Leadership } from '../../units/scheduler/leadership';
import { SwitchedLeadership } from '../../units/scheduler/leadership';

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
      else await this.check();
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

  /** Still holding it: the session answers (within the query timeout), or the lease is lost. */
  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.ended(client, `the lease's session did not answer: ${(err as Error).message}`);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: 'boatload leader lease', keepAlive: true, query_timeout: Math.max(1000, this.options.retryMs) });
    // The session is the lease: when it ends (the server restarted, the connection was cut), so does the lease.
    client.on('error', (err) => this.ended(client, `connection error: ${err.message}`));
    client.on('end', () => this.ended(client, 'connection ended'));
    this.client = client;
    await client.connect();
    // The server probes this session's connection (TCP; ignored on a Unix socket) and ends it, freeing
    // the lock, when the replica is gone without a word.
    await client.query("SELECT set_config('tcp_keepalives_idle', '2', false), set_config('tcp_keepalives_interval', '1', false), set_config('tcp_keepalives_count', '2', false)");
    return client;
  }

  private ended(client: pg.Client, reason: string): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    if (!this.held) return;
    this.held = false;
    if (!this.stopped) this.options.onLost(reason);
  }
}

/** The lease as the scheduler's Leadership (api/server.ts builds it when the store is PostgreSQL). */
export class LeaseLeadership implements Leadership {
  private readonly switched = new SwitchedLeadership();
  private readonly lease: LeaderLease;

  constructor(options: { url: string; retryMs: number; onChange?: (leader: boolean, reason: string) => void }) {
    this.lease = new LeaderLease({
      url: options.url,
      retryMs: options.retryMs,
      onAcquired: () => {
        options.onChange?.(true, 'acquired');
        this.switched.set(true);
      },
      onLost: (reason) => {
        options.onChange?.(false, reason);
        this.switched.set(false);
      },
    });
  }

  isLeader(): boolean {
    return this.lease.isLeader;
  }

  subscribe(listener: (leader: boolean) => void): () => void {
    return this.switched.subscribe(listener);
  }

  start(): void {
    this.lease.start();
  }

  async stop(): Promise<void> {
    await this.lease.stop();
    this.switched.set(false);
  }
}
