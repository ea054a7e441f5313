/**
 * What several API replicas on one PostgreSQL database share beyond the store (issue 17): the
 * leader lease (one replica acts on the engines by itself), the per-unit locks (work on one unit
 * never interleaves across replicas) and the containers the replicas wrote to (cached inspections).
 * On SQLite there is one API process: it always leads, and needs no locks beyond its own.
 */
import type { Logger } from '../common/logger';
import { soleLeader, type Leadership } from '../units/scheduler/leadership';
import { processUnitLocks, type UnitLocks } from '../units/scheduler/unit-locks';
import type { ReplicaContainerChanges } from './satellite/inspection-cache';
import { LeaseLeadership } from './store/leader-lease';
import { PostgresDatabase } from './store/postgres-database';
import { PostgresUnitLocks } from './store/postgres-unit-locks';
import type { SqlDatabase } from './store/sql';

/** How often a replica that does not lead tries to take the lease (ms): a dead leader's successor acts within about this long. */
export const LEASE_RETRY_MS = 1000;

export interface ReplicaParts {
  leadership: Leadership;
  unitLocks: UnitLocks;
  /** Absent on SQLite (no other replica). */
  containerChanges?: ReplicaContainerChanges;
  /** Starts competing for the lead. */
  start(): void;
  /** Gives the lead up (another replica takes it) and closes the connections. */
  close(): Promise<void>;
}

export function replicaParts(input: { store: SqlDatabase; url: string | null; logger: Logger }): ReplicaParts {
  const { store, url, logger } = input;
  if (!(store instanceof PostgresDatabase) || url === null) {
    return { leadership: soleLeader, unitLocks: processUnitLocks, start: () => undefined, close: async () => undefined };
  }
  const leadership = new LeaseLeadership({
    url,
    retryMs: LEASE_RETRY_MS,
    onChange: (leader, reason) => (leader ? logger.info('this replica leads: it runs the scheduler') : logger.warn(`this replica no longer leads (${reason}): it stops acting on its own`)),
  });
  const unitLocks = new PostgresUnitLocks({ url });
  return {
    leadership,
    unitLocks,
    containerChanges: store.engineChanges(),
    start: () => leadership.start(),
    close: async () => {
      await leadership.stop();
      await unitLocks.close();
    },
  };
}
