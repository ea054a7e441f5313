/**
 * The scheduler's model of a unit: what it should be (desiredState), what it is (currentState
 * and the systemd-style state observed on its machine), and where it runs. Both the operators'
 * unit API and /v1/container/ records are units of this shape.
 */
import type { ContainerSpec } from '../../common/container-spec';
import type { DataStaging, PublishedPort, ScriptStaging } from '../../common/satellite-protocol';
import type { UnitOption } from '../unit-file';

export type UnitState = 'inactive' | 'loaded' | 'launched';

export const UNIT_STATES: readonly UnitState[] = ['inactive', 'loaded', 'launched'];

/** systemd's three-level state, as fleet reports it per machine. */
export interface SystemdState {
  loadState: string;
  activeState: string;
  subState: string;
}

/** The engine's one-word container state, or `missing` when it has no such container. */
export type EngineStatus = 'missing' | 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface EngineObservation {
  status: EngineStatus;
  exitCode: number | null;
  /** The engine's own error, e.g. why a start failed. */
  error: string | null;
  observedAt: string;
  /**
   * The machine the engine saw the container on, set by backends whose containers move between
   * machines (swarm); absent: the unit's machine is unchanged.
   */
  machineId?: string | null;
  /**
   * Where the container's published ports are reached now (the engine chooses host ports at each
   * start; a container that moved has its new machine's address). Absent: none published.
   */
  ports?: PublishedPort[];
}

export interface UnitRecord {
  name: string;
  options: UnitOption[];
  hash: string;
  desiredState: UnitState;
  currentState: UnitState;
  machineId: string | null;
  /** Why the unit is not as desired (placement refused, engine error, lost container). */
  reason: string | null;
  /** The engine's name for the unit's container. */
  engineName: string;
  /** What the engine last said about that container; null before anything was observed. */
  observed: EngineObservation | null;
  /** Whether its container has been started at least once (an ephemeral one is never restarted). */
  everStarted: boolean;
  /** Set when the unit backs a /v1/container/ record. */
  containerId: string | null;
  created: string;
  updated: string;
}

/** What a unit runs: the container spec and, for /v1/container/ records, the files to stage. */
export interface Workload {
  spec: ContainerSpec;
  script?: ScriptStaging;
  data?: DataStaging;
}

/** A slice of the units sorted by name, with optional filters (exact matches). */
export interface UnitPageQuery {
  offset: number;
  limit: number;
  /** Only units with a systemd state on a machine (those whose systemdStateOf is not null). */
  withSystemdState?: boolean;
  machineId?: string;
  name?: string;
}

/** Which units a listing reads; every unit without a filter. */
export interface UnitListFilter {
  /** Units whose desired state is not `inactive` (true), or is (false). */
  wanted?: boolean;
  /** Units on a machine (true), or on none (false). */
  placed?: boolean;
}

/** A change to one stored unit. */
export type UnitPatch = Partial<Omit<UnitRecord, 'name' | 'created'>>;

/** What the state sync needs of a unit (its options are not read). */
export type WatchedUnit = Pick<UnitRecord, 'name' | 'engineName' | 'machineId' | 'observed'>;

export interface UnitStore {
  get(name: string): Promise<UnitRecord | undefined>;
  /** The units that pass the filter, sorted by name. */
  list(filter?: UnitListFilter): Promise<UnitRecord[]>;
  /** The units whose desired state is not `inactive` (those the state sync watches), sorted by name. */
  listWatched(): Promise<WatchedUnit[]>;
  /** One slice of the (filtered) units sorted by name, without reading the others. */
  page(query: UnitPageQuery): Promise<UnitRecord[]>;
  /** The name of a unit other than `except` whose container is named `engineName`, if any. */
  unitUsingEngineName(engineName: string, except: string): Promise<string | undefined>;
  insert(unit: UnitRecord): Promise<void>;
  update(name: string, patch: UnitPatch): Promise<void>;
  /** Several updates in one transaction: one commit (one sync to disk) for all of them. */
  updateMany(updates: ReadonlyArray<{ name: string; patch: UnitPatch }>): Promise<void>;
  delete(name: string): Promise<boolean>;
}
