/**
 * The reaper: a periodic sweep that removes containers whose lifetime (`expires_at`) has ended,
 * exactly as a DELETE would (unit, engine container, staged script, record). The expiry is in the
 * store, so a container that expired while the API was down goes at the first sweep after start.
 * It runs next to the scheduler's state sync, started and stopped with it, and like it only on the
 * leading replica (a replica that loses the lead removes nothing more).
 */
import type { Logger } from '../../common/logger';
import type { Leadership } from '../../units/scheduler/leadership';
import type { ContainerRecord, ContainerRepository } from '../store/containers';

/** How many expired containers one sweep takes on; the next sweep takes the rest. */
const SWEEP_BATCH = 100;
/** Removals at once: a running container takes its stop timeout to go. */
const PARALLEL_REMOVALS = 4;

export interface ContainerReaperOptions {
  containers: ContainerRepository;
  /** Removes one expired container; false when it went (or was renewed) meanwhile. */
  expire: (record: ContainerRecord, now: Date) => Promise<boolean>;
  intervalMs: number;
  logger: Logger;
  /** Sweeps only while this replica leads (default: always, one API process). */
  leadership?: Leadership;
  now?: () => Date;
}

export class ContainerReaper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly options: ContainerReaperOptions) {}

  /** Sweeps now, then every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
    void this.sweep();
  }

  /** Stops sweeping and waits for a sweep under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep (never two at once): answers how many containers it removed. */
  sweep(): Promise<number> {
    if (!this.running) {
      this.running = this.sweepOnce()
        .catch((err: Error) => {
          this.options.logger.warn(`container reaper: ${err.message}`);
          return 0;
        })
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    const now = (this.options.now ?? (() => new Date()))();
    const due = await this.options.containers.expired(now, SWEEP_BATCH);
    let next = 0;
    let removed = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length && (this.options.leadership?.isLeader() ?? true)) {
        const record = due[next++];
        try {
          if (await this.options.expire(record, now)) {
            removed++;
            const ttl = record.request.ttl === undefined || record.request.ttl === null ? '' : ` of ${record.request.ttl} s`;
            this.options.logger.info(`reaped container ${record.id} of ${record.owner}: its lifetime${ttl} ended at ${record.expiresAt}`);
          }
        } catch (err) {
          // Left for the next sweep (a satellite that is down, for instance).
          this.options.logger.warn(`container ${record.id} of ${record.owner} expired at ${record.expiresAt} but could not be removed: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_REMOVALS, due.length) }, worker));
    return removed;
  }
}
