/**
 * Work on one unit, serialized across API replicas: the scheduler already runs one piece of work per
 * unit at a time in its own process; with several replicas on one database, a user's stop on one and
 * the leader's converge on another must not interleave either. PostgreSQL: an advisory lock per unit
 * name (api/store/postgres-unit-locks.ts). One process alone needs nothing more.
 */
export interface UnitLocks {
  /** Runs `work` holding the unit's lock (waits while another replica holds it). */
  hold<T>(unit: string, work: () => Promise<T>): Promise<T>;
}

/** One API process: its scheduler's own per-unit queue is all the serialization there is to have. */
export const processUnitLocks: UnitLocks = {
  hold: (_unit, work) => work(),
};
