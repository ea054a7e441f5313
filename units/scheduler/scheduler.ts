/**
 * The scheduler: desired state lives in the store; the backend makes the engine match it. Work on
 * one unit is serialized, so concurrent requests for the same unit never interleave. A periodic
 * sync reads every container's state in one call; after an API restart `reconcileAll` converges
 * every unit again from the store.
 */
import type { Logger } from '../../common/logger';
import type { SchedulerBackend } from './backend';
import type { ContainerInspection } from '../../common/satellite-protocol';
import type { EngineObservation, UnitRecord, UnitState, UnitStore, Workload } from './model';
import { observationOf } from './observation';

export interface SchedulerOptions {
  store: UnitStore;
  backend: SchedulerBackend;
  /** What a unit runs; container units get their staging from the container records. */
  workloadOf: (unit: UnitRecord) => Workload;
  logger: Logger;
}

export interface NewUnit {
  name: string;
  options: UnitRecord['options'];
  hash: string;
  desiredState: UnitState;
  engineName: string;
  containerId?: string;
}

/** How many units the start-up reconcile converges at once. */
const RECONCILE_CONCURRENCY = 8;

export class Scheduler {
  private readonly queues = new Map<string, Promise<unknown>>();
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SchedulerOptions) {}

  get backend(): SchedulerBackend {
    return this.options.backend;
  }

  get(name: string): UnitRecord | undefined {
    return this.options.store.get(name);
  }

  /** Stores a new unit; nothing runs until `converge`. */
  add(unit: NewUnit): UnitRecord {
    const now = new Date().toISOString();
    const record: UnitRecord = {
      ...unit,
      containerId: unit.containerId ?? null,
      currentState: 'inactive',
      machineId: null,
      reason: null,
      observed: null,
      everStarted: false,
      created: now,
      updated: now,
    };
    this.options.store.insert(record);
    return record;
  }

  /** Runs `work` after every earlier piece of work on the same unit has finished. */
  private serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(name, next);
    const cleanup = (): void => {
      if (this.queues.get(name) === next) this.queues.delete(name);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /**
   * Makes the engine match the unit's desired state (or only `created`: exists and staged, for a
   * caller that wants creation errors before it answers). Failures are recorded on the unit and
   * rethrown.
   */
  converge(name: string, until?: 'created'): Promise<UnitRecord> {
    return this.serialized(name, async () => {
      const unit = this.options.store.get(name);
      if (!unit) throw new Error(`unit ${name} does not exist`);
      const target = until ?? unit.desiredState;
      try {
        const result = await this.options.backend.apply(unit, this.options.workloadOf(unit), target);
        this.options.store.update(name, {
          observed: result.observed,
          machineId: result.machineId,
          everStarted: result.everStarted,
          currentState: until ? unit.currentState : unit.desiredState,
          reason: result.observed.error,
        });
      } catch (err) {
        this.options.store.update(name, { reason: (err as Error).message });
        throw err;
      }
      return this.options.store.get(name) as UnitRecord;
    });
  }

  /** Converges in the background; failures are already recorded on the unit, so only log them. */
  convergeLater(name: string): void {
    this.converge(name).catch((err: Error) => this.options.logger.warn(`unit ${name}: ${err.message}`));
  }

  async setDesiredState(name: string, desiredState: UnitState): Promise<UnitRecord> {
    this.options.store.update(name, { desiredState });
    return this.converge(name);
  }

  /** Removes the unit's container, then the unit. */
  destroy(name: string): Promise<void> {
    return this.serialized(name, async () => {
      const unit = this.options.store.get(name);
      if (!unit) return;
      await this.options.backend.apply(unit, this.options.workloadOf(unit), 'inactive');
      this.options.store.delete(name);
    });
  }

  /** Refreshes every unit's observed state from one listing of the engine. */
  async syncObservations(): Promise<void> {
    const observations = await this.options.backend.observeAll();
    const now = new Date().toISOString();
    for (const unit of this.options.store.list()) {
      if (this.queues.has(unit.name) || unit.desiredState === 'inactive') continue;
      const seen: EngineObservation = observations.get(unit.engineName) ?? { status: 'missing', exitCode: null, error: null, observedAt: now };
      const before = unit.observed;
      if (before && before.status === seen.status && before.exitCode === seen.exitCode) continue;
      // A listing cannot know why a start failed; keep that reason.
      this.options.store.update(unit.name, { observed: { ...seen, error: seen.error ?? before?.error ?? null } });
    }
  }

  /** Records a fresh inspection of the unit's container (a state read) and returns the unit. */
  recordInspection(name: string, inspection: ContainerInspection | null): UnitRecord {
    const unit = this.options.store.get(name);
    if (!unit) throw new Error(`unit ${name} does not exist`);
    if (this.queues.has(name) || (!inspection && !unit.everStarted)) return unit;
    const seen = observationOf(inspection);
    // A listing or inspection cannot know why a start failed; keep that reason.
    const observed = { ...seen, error: seen.error ?? unit.observed?.error ?? null };
    this.options.store.update(name, { observed });
    return { ...unit, observed };
  }

  /** After a restart: converge every unit from the store (creating what the engine lost). */
  async reconcileAll(concurrency = RECONCILE_CONCURRENCY): Promise<void> {
    // A few units at a time: after a crash with many containers in flight, recovery takes
    // seconds, not the sum of every create and start.
    const pending = this.options.store.list();
    const worker = async (): Promise<void> => {
      for (let unit = pending.shift(); unit; unit = pending.shift()) {
        try {
          await this.converge(unit.name);
        } catch (err) {
          this.options.logger.warn(`reconcile ${unit.name}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  startSync(intervalMs: number): void {
    if (this.syncTimer) return;
    this.syncTimer = setInterval(() => {
      this.syncObservations().catch((err: Error) => this.options.logger.debug(`state sync: ${err.message}`));
    }, intervalMs);
    this.syncTimer.unref();
  }

  stopSync(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = null;
  }

  /** Waits for in-flight unit work (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.allSettled([...this.queues.values()]);
  }
}
