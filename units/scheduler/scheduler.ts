/**
 * The scheduler: desired state lives in the store; the backend makes the engine match it. Work on
 * one unit is serialized, so concurrent requests for the same unit never interleave. Before a unit
 * runs, its [X-Fleet] requirements are placed against the machines; a unit that cannot be placed
 * stays `inactive` with the reason. Templates (`foo@.service`) are stored, never run. A periodic
 * sync reads every container's state in one call; after an API restart `reconcileAll` converges
 * every unit again from the store.
 */
import { BadRequestError, ConflictError, errorText, NotFoundError, ServiceUnavailableError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { Machine } from '../placement';
import { removesContainerBeforeStart } from '../container-unit';
import { isTemplateName } from '../unit-name';
import type { SchedulerBackend, UnitAction, UnitLocation } from './backend';
import type { ContainerInspection } from '../../common/satellite-protocol';
import type { EngineObservation, UnitPageQuery, UnitPatch, UnitRecord, UnitState, UnitStore, Workload } from './model';
import { observationOf } from './observation';
import { samePorts } from '../../common/published-ports';
import { placementOf } from './unit-placement';
import { soleLeader, type Leadership } from './leadership';
import { processUnitLocks, type UnitLocks } from './unit-locks';
import { problemOf, UnitProblemLog } from './unit-problems';

export interface SchedulerOptions {
  store: UnitStore;
  backend: SchedulerBackend;
  /** What a unit runs; container units get their staging from the container records. */
  workloadOf: (unit: UnitRecord) => Promise<Workload>;
  /** The machines placement sees (e.g. with edited metadata); default: the backend's. */
  machines?: () => Promise<Machine[]>;
  logger: Logger;
  /** Told when a convergence ends (for metrics); optional. */
  observer?: SchedulerObserver;
  /**
   * Whether this replica runs the background work (the reconcile, the state sync); default: it
   * always does (one API process). Work a request asks for runs whoever leads.
   */
  leadership?: Leadership;
  /** Serializes work on a unit across replicas too (default: this process's own queue is enough). */
  unitLocks?: UnitLocks;
}

/** What the scheduler reports about its work (api/metrics counts it). */
export interface SchedulerObserver {
  /**
   * Work towards a desired state ended: `seconds` from the request (the desired-state change,
   * queueing included) until the engine's observed state was recorded, or the attempt failed.
   */
  converged(event: { target: UnitState; seconds: number; ok: boolean }): void;
}

export interface NewUnit {
  name: string;
  options: UnitRecord['options'];
  hash: string;
  desiredState: UnitState;
  engineName: string;
  containerId?: string;
}

/** New options for an existing unit (a replaced unit file). */
export interface UnitReplacement {
  options: UnitRecord['options'];
  hash: string;
  engineName: string;
  desiredState: UnitState;
}

/** What one piece of work on a unit does: converge it, or start, stop or restart it. */
/** `requestedAt`: performance.now() when the work was asked for, before it queued (for the observer). */
/** `asLeader`: background work of the leader, dropped before it acts if the lead is gone by then. */
type UnitWork = ({ kind: 'converge'; until?: 'created'; asLeader?: true } | { kind: 'start' | 'stop' | 'restart' }) & { requestedAt: number };

/** The desired state that starting, stopping and restarting set (converging keeps the stored one). */
const DESIRED_BY: Record<UnitWork['kind'], UnitState | null> = { converge: null, start: 'launched', stop: 'loaded', restart: 'launched' };

/**
 * Whether a start replaces a container that already ran by a fresh one: for operators' units whose
 * ExecStartPre removes the container (as systemd would run it). A /v1/container/ record's container
 * is started again instead: its files, its output and its staged script are the record's.
 */
function startsFresh(unit: UnitRecord): boolean {
  return unit.containerId === null && removesContainerBeforeStart(unit.options, unit.name);
}

/** The stored form of a new unit: inactive, on no machine, never observed. Nothing runs until a converge. */
export function newUnitRecord(unit: NewUnit, now = new Date().toISOString()): UnitRecord {
  return {
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
}

/** How many units the start-up reconcile converges at once. */
const RECONCILE_CONCURRENCY = 8;

export class Scheduler {
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Writes to a unit made outside its serialized work (the state sync, state reads), while they are
   * in flight: work on that unit starts after them. Those writers skip a unit with queued work, and
   * the store is asynchronous: without this, work that starts between their check and their commit
   * could write first and then be overwritten by an older observation.
   */
  private readonly outsideWrites = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<unknown>>();
  private syncTimer: NodeJS.Timeout | null = null;
  /** Logs a unit's failures, crash loops and start errors, once per transition. */
  private readonly problems: UnitProblemLog;
  private readonly leadership: Leadership;
  private readonly unitLocks: UnitLocks;

  constructor(private readonly options: SchedulerOptions) {
    this.problems = new UnitProblemLog({ logger: options.logger });
    this.leadership = options.leadership ?? soleLeader;
    this.unitLocks = options.unitLocks ?? processUnitLocks;
  }

  get(name: string): Promise<UnitRecord | undefined> {
    return this.options.store.get(name);
  }

  /** Every unit, sorted by name. */
  list(): Promise<UnitRecord[]> {
    return this.options.store.list();
  }

  /** One slice of the units sorted by name (a page of a listing). */
  page(query: UnitPageQuery): Promise<UnitRecord[]> {
    return this.options.store.page(query);
  }

  /** The name of a unit other than `except` whose container is named `engineName`, if any. */
  unitUsingEngineName(engineName: string, except: string): Promise<string | undefined> {
    return this.options.store.unitUsingEngineName(engineName, except);
  }

  /** The machines units are placed on. */
  machines(): Promise<Machine[]> {
    return this.options.machines ? this.options.machines() : this.options.backend.machines();
  }

  /** Stores a new unit; nothing runs until `converge`. */
  async add(unit: NewUnit): Promise<UnitRecord> {
    const record = newUnitRecord(unit);
    await this.options.store.insert(record);
    return record;
  }

  /**
   * Runs `work` after every earlier piece of work on the same unit has finished, holding the unit's
   * lock (other replicas' work on it waits, and this waits for theirs).
   */
  private serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(name) ?? this.outsideWrites.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.unitLocks.hold(name, work));
    this.queues.set(name, next);
    const cleanup = (): void => {
      if (this.queues.get(name) === next) this.queues.delete(name);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /**
   * Makes the engine match the unit's desired state (or only `created`: exists and staged, for a
   * caller that wants creation errors before it answers). A unit that cannot be placed is made
   * inactive with the reason (for `created` that is a 503). Failures are recorded on the unit and
   * rethrown. Templates are never run.
   */
  converge(name: string, until?: 'created'): Promise<UnitRecord> {
    const requestedAt = performance.now();
    return this.serialized(name, () => this.work(name, { kind: 'converge', until, requestedAt }));
  }

  /**
   * Starts the unit (desired state `launched`) and runs its container, as `systemctl start` does: a
   * running one stays as it is, one that stopped or finished (even an ephemeral one) runs again.
   * Answers the unit once its container started. Throws NotFoundError for no such unit,
   * BadRequestError for a template, ServiceUnavailableError when it cannot be placed (it then waits
   * for a machine) or the engine cannot be reached, ConflictError when the engine refused to start it.
   */
  start(name: string): Promise<UnitRecord> {
    const requestedAt = performance.now();
    return this.serialized(name, async () => this.started(await this.work(name, { kind: 'start', requestedAt })));
  }

  /** Stops the unit's container, keeping it (desired state `loaded`); answers the unit once stopped. */
  stop(name: string): Promise<UnitRecord> {
    const requestedAt = performance.now();
    return this.serialized(name, () => this.work(name, { kind: 'stop', requestedAt }));
  }

  /** Stops the unit's container and starts it again (desired state `launched`); errors as start. */
  restart(name: string): Promise<UnitRecord> {
    const requestedAt = performance.now();
    return this.serialized(name, async () => this.started(await this.work(name, { kind: 'restart', requestedAt })));
  }

  private async unitOrFail(name: string): Promise<UnitRecord> {
    const unit = await this.options.store.get(name);
    if (!unit) throw new NotFoundError(`unit ${name} does not exist`);
    return unit;
  }

  /** The unit after a start or restart; a container that did not start is a ConflictError. */
  private started(unit: UnitRecord): UnitRecord {
    const error = unit.observed?.error;
    if (error) throw new ConflictError(`${unit.name} did not start: ${error}`);
    return unit;
  }

  /** One piece of work on a unit, already serialized. */
  private async work(name: string, work: UnitWork): Promise<UnitRecord> {
    let unit = await this.unitOrFail(name);
    const wanted = DESIRED_BY[work.kind];
    if (wanted) {
      if (isTemplateName(name)) throw new BadRequestError(`cannot start or stop template ${name}`);
      if (unit.desiredState !== wanted) {
        await this.options.store.update(name, { desiredState: wanted });
        unit = { ...unit, desiredState: wanted };
      }
    }
    if (isTemplateName(name)) return unit;
    const until = work.kind === 'converge' ? work.until : undefined;
    const target = until ?? unit.desiredState;
    // Checked the last moment before the engine is touched: a replica that lost the lead meanwhile stops there.
    const leadGone = (): boolean => work.kind === 'converge' && work.asLeader === true && !this.leadership.isLeader();
    const report = (ok: boolean): void => {
      if (target !== 'created') this.options.observer?.converged({ target, seconds: (performance.now() - work.requestedAt) / 1000, ok });
    };
    try {
      const workload = await this.options.workloadOf(unit);
      if (target !== 'inactive') {
        const placement = placementOf({ unit, machines: await this.machines(), units: await this.options.store.list({ placed: true }) });
        if ('reason' in placement) {
          const reason = `not placed: ${placement.reason}`;
          if (until) throw new ServiceUnavailableError(reason);
          if (leadGone()) return unit;
          const result = await this.options.backend.apply(unit, workload, 'inactive');
          await this.options.store.update(name, { observed: result.observed, machineId: null, currentState: 'inactive', reason });
          report(false);
          if (work.kind !== 'converge') throw new ServiceUnavailableError(reason);
          return (await this.options.store.get(name)) as UnitRecord;
        }
      }
      const action: UnitAction = { unit, workload, fresh: startsFresh(unit) };
      const { backend } = this.options;
      if (leadGone()) return unit;
      // Converging a unit that is not launched yet to `launched` starts it, as a start does (under
      // systemd every start runs ExecStartPre and ExecStart again); an already launched unit is
      // only converged (an ephemeral container that finished is not run again on its own).
      const starting = work.kind === 'start' || (work.kind === 'converge' && !until && target === 'launched' && unit.currentState !== 'launched');
      const result =
        work.kind === 'restart' ? await backend.restart(action) : starting ? await backend.start(action) : await backend.apply(unit, workload, target);
      await this.options.store.update(name, {
        observed: result.observed,
        machineId: result.machineId,
        everStarted: result.everStarted,
        currentState: until ? unit.currentState : unit.desiredState,
        reason: result.observed.error,
      });
      this.problems.note(name, problemOf(result.observed));
      report(result.observed.error === null);
    } catch (err) {
      const reason = errorText(err);
      await this.options.store.update(name, { reason });
      report(false);
      // A unit that was to run and could not be brought there: its start failed.
      this.problems.note(name, target === 'inactive' || target === 'loaded' ? { kind: 'failed', text: `could not make it ${target}: ${reason}` } : { kind: 'start error', text: reason });
      throw err;
    }
    return (await this.options.store.get(name)) as UnitRecord;
  }

  /**
   * Awaits `write`, a write to `names` made outside their serialized work; work on those units that
   * is asked for meanwhile starts once it is committed (or failed).
   */
  private async writingOutside(names: readonly string[], write: Promise<void>): Promise<void> {
    const settled = write.catch(() => undefined);
    for (const name of names) this.outsideWrites.set(name, settled);
    try {
      await write;
    } finally {
      for (const name of names) if (this.outsideWrites.get(name) === settled) this.outsideWrites.delete(name);
    }
  }

  /** Converges in the background; failures are already recorded on the unit, so only log them. */
  convergeLater(name: string): void {
    // The failure is already logged (UnitProblemLog) and recorded on the unit.
    this.converge(name).catch((err: Error) => this.options.logger.debug(`unit ${name}: ${err.message}`));
  }

  async setDesiredState(name: string, desiredState: UnitState): Promise<UnitRecord> {
    await this.options.store.update(name, { desiredState });
    return this.converge(name);
  }

  /**
   * Stops the unit (desired state `loaded`) and keeps `reason` on it: its container reads as an
   * error with that reason until someone starts it again (a start clears the reason).
   */
  halt(name: string, reason: string): Promise<UnitRecord> {
    return this.serialized(name, async () => {
      await this.work(name, { kind: 'stop', requestedAt: performance.now() });
      await this.options.store.update(name, { reason });
      return (await this.options.store.get(name)) as UnitRecord;
    });
  }


  /** Removes the unit's container, then the unit. */
  destroy(name: string): Promise<void> {
    return this.serialized(name, async () => {
      const unit = await this.options.store.get(name);
      if (!unit) return;
      // The store first, as for every change: a store that cannot take writes (full, read-only)
      // refuses the delete before the container is touched, and a destroy cut short by a crash
      // leaves a unit that is no longer wanted rather than one a reconcile would start again.
      await this.options.store.update(name, { desiredState: 'inactive' });
      if (!isTemplateName(name)) await this.options.backend.apply(unit, await this.options.workloadOf(unit), 'inactive');
      await this.options.store.delete(name);
      this.problems.forget(name);
    });
  }

  /**
   * Replaces the unit's options (a changed unit file): its old container is removed and the unit
   * starts again from `inactive`. Nothing runs until `converge`.
   */
  replace(name: string, replacement: UnitReplacement): Promise<UnitRecord> {
    return this.serialized(name, async () => {
      const unit = await this.unitOrFail(name);
      if (!isTemplateName(name)) await this.options.backend.apply(unit, await this.options.workloadOf(unit), 'inactive');
      await this.options.store.update(name, {
        ...replacement,
        currentState: 'inactive',
        machineId: null,
        reason: null,
        observed: null,
        everStarted: false,
      });
      this.problems.forget(name);
      return (await this.options.store.get(name)) as UnitRecord;
    });
  }

  /**
   * Places the units that wait for a machine (desired, but not placed): after machines changed
   * (metadata edits) or a unit left its machine (a conflict may be gone). Placed units stay put.
   */
  async replan(): Promise<void> {
    for (const unit of await this.options.store.list({ wanted: true, placed: false })) {
      if (isTemplateName(unit.name)) continue;
      const current = await this.options.store.get(unit.name);
      if (!current || current.machineId !== null) continue;
      const placement = placementOf({ unit: current, machines: await this.machines(), units: await this.options.store.list({ placed: true }) });
      if ('reason' in placement) continue;
      try {
        await this.converge(unit.name);
      } catch (err) {
        this.options.logger.debug(`replan ${unit.name}: ${(err as Error).message}`);
      }
    }
  }

  /** `replan` in the background; `idle` waits for it. */
  replanLater(): void {
    const work: Promise<void> = this.replan()
      .catch((err: Error) => this.options.logger.warn(`replan: ${err.message}`))
      .finally(() => this.background.delete(work));
    this.background.add(work);
  }

  /**
   * Refreshes the observed state of every unit that should have a container (desired state not
   * inactive) from one listing of the engine. Inactive units, however many, are not read; what
   * changed is written in one transaction (one sync to disk, however many containers changed).
   */
  async syncObservations(): Promise<void> {
    const observations = await this.options.backend.observeAll();
    const now = new Date().toISOString();
    const updates: Array<{ name: string; patch: UnitPatch }> = [];
    for (const unit of await this.options.store.listWatched()) {
      if (this.queues.has(unit.name)) continue;
      const seen: EngineObservation = observations.get(unit.engineName) ?? { status: 'missing', exitCode: null, error: null, observedAt: now };
      const before = unit.observed;
      // Backends whose containers move (swarm) say where they saw it.
      const moved = seen.machineId !== undefined && seen.machineId !== null && seen.machineId !== unit.machineId;
      const error = seen.error ?? before?.error ?? null;
      if (!moved && before && before.status === seen.status && before.exitCode === seen.exitCode && error === before.error && samePorts(before.ports, seen.ports)) continue;
      // A listing cannot know why a start failed; keep that reason.
      updates.push({ name: unit.name, patch: moved ? { observed: { ...seen, error }, machineId: seen.machineId } : { observed: { ...seen, error } } });
    }
    // From the check above (no await since) until committed: work on these units waits for it.
    await this.writingOutside(
      updates.map((u) => u.name),
      this.options.store.updateMany(updates),
    );
    for (const { name, patch } of updates) this.problems.note(name, problemOf(patch.observed ?? null));
  }

  /**
   * Where the unit's container is now, for host-local reads. With a backend whose containers move
   * (swarm) this asks it and records what it saw; otherwise it is `engineName` on the unit's machine.
   */
  async locate(name: string): Promise<{ unit: UnitRecord; location: UnitLocation }> {
    const unit = await this.unitOrFail(name);
    const backend = this.options.backend;
    if (!backend.locate) return { unit, location: { machineId: unit.machineId, container: unit.engineName, problem: null, notes: [] } };
    const location = await backend.locate(unit);
    const seen = location.observed;
    if (!seen || this.queues.has(name) || unit.desiredState === 'inactive') return { unit, location };
    const moved = seen.machineId !== undefined && seen.machineId !== null && seen.machineId !== unit.machineId;
    await this.writingOutside([name], this.options.store.update(name, moved ? { observed: seen, machineId: seen.machineId } : { observed: seen }));
    this.problems.note(name, problemOf(seen));
    return { unit: (await this.options.store.get(name)) as UnitRecord, location };
  }

  /** Records a fresh inspection of the unit's container (a state read) and returns the unit. */
  async recordInspection(name: string, inspection: ContainerInspection | null): Promise<UnitRecord> {
    const unit = await this.unitOrFail(name);
    if (this.queues.has(name) || (!inspection && !unit.everStarted)) return unit;
    const seen = observationOf(inspection);
    // A listing or inspection cannot know why a start failed; keep that reason.
    const observed = { ...seen, error: seen.error ?? unit.observed?.error ?? null };
    // State reads are the hot path: write only when something changed.
    const before = unit.observed;
    if (before && before.status === observed.status && before.exitCode === observed.exitCode && before.error === observed.error && samePorts(before.ports, observed.ports)) return unit;
    await this.writingOutside([name], this.options.store.update(name, { observed }));
    this.problems.note(name, problemOf(observed));
    return { ...unit, observed };
  }

  /**
   * After a restart, or when this replica takes the lead: converge every unit from the store
   * (creating what the engine lost). Stops as soon as this replica no longer leads.
   */
  async reconcileAll(concurrency = RECONCILE_CONCURRENCY): Promise<void> {
    // A few units at a time: after a crash with many containers in flight, recovery takes
    // seconds, not the sum of every create and start.
    const pending = await this.options.store.list();
    const worker = async (): Promise<void> => {
      for (let unit = pending.shift(); unit && this.leadership.isLeader(); unit = pending.shift()) {
        const name = unit.name;
        const requestedAt = performance.now();
        try {
          // As the leader's: dropped if the lead is gone by the time its turn comes (after a request's
          // work on the unit, here or on another replica).
          await this.serialized(name, () => this.work(name, { kind: 'converge', asLeader: true, requestedAt }));
        } catch (err) {
          this.options.logger.debug(`reconcile ${unit.name}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Syncs every `intervalMs` while this replica leads. */
  startSync(intervalMs: number): void {
    if (this.syncTimer) return;
    this.syncTimer = setInterval(() => {
      if (!this.leadership.isLeader()) return;
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
    while (this.queues.size || this.background.size) await Promise.allSettled([...this.queues.values(), ...this.background]);
  }
}
