import type { Machine } from '../placement';
import type { EngineObservation, UnitRecord, UnitState, Workload } from './model';

/** What a backend reports after acting on a unit. */
export interface ApplyResult {
  observed: EngineObservation;
  machineId: string | null;
  everStarted: boolean;
}

/**
 * Where units run. `local` drives this host's satellite; `swarm` (later) drives a Docker Swarm.
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
}
