import type { Machine } from '../placement';
import type { EngineObservation, UnitRecord, UnitState, Workload } from './model';

/** What a backend reports after acting on a unit. */
export interface ApplyResult {
  observed: EngineObservation;
  machineId: string | null;
  everStarted: boolean;
}

/** Where a unit's container is now, for host-local reads through that machine's satellite. */
export interface UnitLocation {
  /** The machine holding the unit's current container; null when it has none. */
  machineId: string | null;
  /** The engine's name or id for that container on that machine; null when there is none (yet). */
  container: string | null;
  /** Why that container cannot be read now (its machine is down), or null. */
  problem: string | null;
  /** A fresh observation, when the backend knows more than an inspection would (Swarm tasks). */
  observed?: EngineObservation;
  /** Other copies the engine may still run (a machine cut off keeps its copy until it reconnects). */
  notes: string[];
}

/** A start or restart of one unit, as the scheduler asks a backend for it. */
export interface UnitAction {
  unit: UnitRecord;
  workload: Workload;
  /**
   * Whether a container that already ran is replaced by a fresh one from the unit's spec (what
   * systemd's `ExecStartPre=-docker rm -f NAME` then `ExecStart=docker run` does), rather than
   * started again (its files and logs kept). A container that is gone is always made afresh.
   */
  fresh: boolean;
}

/**
 * Where units run: the local backend drives this host's satellite; the swarm backend a Docker
 * Swarm. The scheduler keeps the desired state in the store and asks the backend to converge, to
 * start and to restart; nothing outside the scheduler asks which backend it is.
 */
export interface SchedulerBackend {
  machines(): Promise<Machine[]>;
  /**
   * Brings the unit's container to `target`: `created` (exists and staged, not started),
   * `loaded` (exists, not running), `launched` (started once; restarts are the engine's job),
   * `inactive` (removed).
   */
  apply(unit: UnitRecord, workload: Workload, target: UnitState | 'created'): Promise<ApplyResult>;
  /**
   * Runs the unit (again), as `systemctl start` does: a running container stays as it is; one that
   * is not running is started, even an ephemeral one that already ran (see UnitAction.fresh).
   * A container the engine refuses to start is reported in the observation's `error`.
   */
  start(action: UnitAction): Promise<ApplyResult>;
  /** Stops the unit's container (if it runs) and starts it again, as `systemctl restart` does. */
  restart(action: UnitAction): Promise<ApplyResult>;
  /** One cheap look at every container this installation owns, by engine name. */
  observeAll(): Promise<Map<string, EngineObservation>>;
  /**
   * Where the unit's container is now. Backends whose containers move between machines (swarm)
   * implement it; without it a unit's container is `engineName` on `machineId`.
   */
  locate?(unit: UnitRecord): Promise<UnitLocation>;
}
