/**
 * The shapes exchanged between the API and a satellite (JSON over signed HTTP).
 * Both sides import these; the satellite's routes are listed in satellite/app.ts.
 */
import type { ContainerSpec } from './container-spec';

/** Where a submitted script lands inside the container; hidden from changes listings. */
export const SCRIPT_DIR = '/boatload';

/** The subset of the engine's State that BoatLoad reports as `docker_state`. */
export interface DockerState {
  Paused: boolean;
  FinishedAt: string;
  StartedAt: string;
  Restarting: boolean;
  Dead: boolean;
  ExitCode: number;
  Error: string;
  OOMKilled: boolean;
  Pid: number;
  Running: boolean;
  Status: string;
}

export interface ScriptStaging {
  /** Absolute path inside the container, under SCRIPT_DIR. */
  path: string;
  contentBase64: string;
}

export interface DataStaging {
  url: string;
  /** Absolute directory inside the container. */
  path: string;
}

export interface CreateContainerRequest {
  spec: ContainerSpec;
  script?: ScriptStaging;
  data?: DataStaging;
}

export interface CreateContainerResponse {
  engineId: string;
}

export interface ContainerInspection {
  engineId: string;
  name: string;
  image: string;
  created: string;
  labels: Record<string, string>;
  state: DockerState;
}

export interface ContainerSummary {
  engineId: string;
  name: string;
  labels: Record<string, string>;
  /** The engine's one-word state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  exitCode?: number;
}

export interface ChangeEntry {
  Path: string;
  /** 0 modified, 1 added, 2 deleted (the engine's codes). */
  Kind: 0 | 1 | 2;
}

export interface FileEntry {
  num: number;
  path: string;
  size: number;
}

export interface ContainerMetrics {
  timestamp: string;
  cpu_percent: number | null;
  online_cpus: number;
  memory: { usage_bytes: number; limit_bytes: number; percent: number | null };
  network: { rx_bytes: number; tx_bytes: number };
  pids: number;
  block_io: { read_bytes: number; write_bytes: number } | null;
}

export interface MachineInfo {
  id: string;
  hostname: string;
  primaryIP: string;
  metadata: Record<string, string>;
  engine: { version: string; apiVersion: string };
}

export interface SatelliteHealth {
  status: 'ok' | 'unavailable';
  engine: 'ok' | string;
}
