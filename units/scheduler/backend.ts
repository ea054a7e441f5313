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

/**
 * Where units run. `local` drives this host's satellite; `swarm` drives a Docker Swarm.
 * The scheduler keeps the desired state in the store and asks the backend to converge.
 */
export interface SchedulerBackend {
  readonly kind: 'local' | 'swarm';
  machines(): Promise<Machine[]>;
  /**
   * Brings the unit's container to `target`: `created` (exists and staged, not started),
   * `loaded` (exists, not running), `launched` (started once; restarts are the engine's job),
   * `inactive` (removed).
   */
  apply(unit: UnitRecord, workload: Workload, target: UnitState | 'created'): Promise<ApplyResult>;
  /** One cheap look at every container this installation owns, by engine name. */
  observeAll(): Promise<Map<string, EngineObservation>>;
  /**
   * Where the unit's container is now. Backends whose containers move between machines (swarm)
   * implement it; without it a unit's container is `engineName` on `machineId`.
   */
  locate?(unit: UnitRecord): Promise<UnitLocation>;
}
