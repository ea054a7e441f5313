/** What the API asks of warm capacity, whichever backend keeps it (warm-pool.ts, swarm-warm.ts). */
import type { ContainerSpec } from '../../common/container-spec';

/** What a run reserving a member asks for besides a fitting one. */
export interface WarmReservation {
  /** A function's own members to take from before the shared classes, where the backend keeps them. */
  tag?: string;
  /** With `tag`: whether a shared class's member will do when the tag's pool has none idle (default true). */
  shared?: boolean;
  /** The run's result is read once with this output cap (a function invocation): the member reports it (WarmTakeRequest.report). */
  report?: { maxOutputBytes: number };
}

export interface WarmCapacity {
  /** Reserves an idle member for a run whose container would be `spec`: the id the run must use, or null. */
  reserve(spec: ContainerSpec, reservation?: WarmReservation): string | null;
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
