/**
 * The work a replica does on the engines by itself, only while it leads (issue 17): when it takes
 * the lead it fills the warm pool, converges every unit from the store (what a replica that died
 * left half-done included), then keeps the state sync, the reaper and the disk watchdog running.
 * Each of them checks the leadership before every action, so a replica that loses the lead stops at
 * once, and takes up again when it leads again. One API process on SQLite always leads.
 */
import type { Logger } from '../common/logger';
import type { Leadership } from '../units/scheduler/leadership';

export interface LeaderDutiesOptions {
  leadership: Leadership;
  /** Removes the pool members no run started in, then fills it (null: no warm pool). */
  warm: { start(): Promise<void> } | null;
  scheduler: { reconcileAll(): Promise<void>; startSync(intervalMs: number): void };
  /** Periodic work whose every round checks the leadership itself. */
  periodic: Array<{ start(): void }>;
  stateSyncIntervalMs: number;
  logger: Logger;
}

export class LeaderDuties {
  private takeovers: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private closing = false;

  constructor(private readonly options: LeaderDutiesOptions) {}

  /** Takes the duties up now if this replica leads, and whenever it takes the lead later. */
  start(): void {
    if (this.unsubscribe || this.closing) return;
    this.unsubscribe = this.options.leadership.subscribe((leader) => {
      if (leader) this.takeovers = this.takeovers.then(() => this.takeOver()).catch((err: Error) => this.options.logger.error(`taking the lead failed: ${err.message}`));
    });
  }

  /** Waits for a takeover under way (its reconcile stops at the next unit once the lead is gone). */
  async stop(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.takeovers;
  }

  private leads(): boolean {
    return !this.closing && this.options.leadership.isLeader();
  }

  private async takeOver(): Promise<void> {
    if (!this.leads()) return;
    const started = performance.now();
    // Members no run started in go first: a unit that reserved one then starts cold.
    await this.options.warm?.start();
    if (!this.leads()) return;
    await this.options.scheduler.reconcileAll();
    if (!this.leads()) return;
    this.options.logger.info(`leading: every unit converged from the store in ${Math.round(performance.now() - started)} ms`);
    // Idempotent: a replica that leads again finds them running (idle while it did not lead).
    this.options.scheduler.startSync(this.options.stateSyncIntervalMs);
    for (const work of this.options.periodic) work.start();
  }
}
