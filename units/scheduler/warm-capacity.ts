/** What the API asks of warm capacity, whichever backend keeps it (warm-pool.ts, swarm-warm.ts). */
import type { ContainerSpec } from '../../common/container-spec';

export interface WarmCapacity {
  /**
   * Reserves an idle member for a run whose container would be `spec` (`tag`: a function's own
   * members first, where the backend keeps them): the id the run must use, or null.
   */
  reserve(spec: ContainerSpec, tag?: string): string | null;
  /** Gives back a reservation no run used. */
  release(id: string): void;
  /** Removes what an earlier API left, then fills and keeps filling. */
  start(): Promise<void>;
  /** Waits for the refill under way (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
  /** Idle members and members being made, per pool. */
  status(): Array<{ image: string; key: string; size: number; idle: number; creating: number }>;
}
