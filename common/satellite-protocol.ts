/**
 * The shapes exchanged between the API and a satellite (JSON over signed HTTP).
 * Both sides import these; the satellite's routes are listed in satellite/app.ts.
 */
import type { ContainerSpec } from './container-spec';

/** A container name as the satellite accepts it in a path (the engine's own rule); also a safe file name. */
export const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The satellite's path prefix for the Swarm calls it forwards to its engine (SATELLITE_SWARM_PROXY). */
export const SWARM_PROXY_PREFIX = '/swarm-api';

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
  /** The run's standard input (a function invocation's), staged at STDIN_PATH; without it stdin is empty. */
  stdinBase64?: string;
}

/** Where a run's standard input is staged (read-only) when it has one. */
export const STDIN_PATH = `${SCRIPT_DIR}/.stdin`;

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

/** POST /containers answers the new container's inspection (saves the caller a round trip). */
export type CreateContainerResponse = ContainerInspection;

export interface ContainerInspection {
  engineId: string;
  name: string;
  image: string;
  created: string;
  labels: Record<string, string>;
  state: DockerState;
  /** The ports the engine publishes now (none while the container is not running; absent from older satellites). */
  ports?: PublishedPort[];
  /** The container's environment as the engine holds it (`NAME=value`, the image's included). */
  env?: string[];
}

/**
 * One exposed container port and where other machines reach it: `host_ip` is the machine's
 * advertised address (SATELLITE_PUBLIC_IP, else its first non-internal IPv4) when the engine binds
 * every address, else the address it binds; `host_port` is the port the engine published.
 */
export interface PublishedPort {
  port: number;
  protocol: 'tcp' | 'udp';
  host_ip: string;
  host_port: number;
}

/**
 * A line of GET /events: a container event (engine id, name, the engine's action), a heartbeat
 * `{}` every few seconds, and first `{"ready": true}` once the engine's feed is open.
 */
export interface ContainerEvent {
  id: string;
  name: string | null;
  action: string;
}

export type EventFeedLine = ContainerEvent | { ready: true } | Record<string, never>;

/** Seconds between heartbeats on GET /events; a feed silent for three of them is taken as dead. */
export const EVENT_HEARTBEAT_SECONDS = 5;

export interface ContainerSummary {
  engineId: string;
  name: string;
  labels: Record<string, string>;
  /** The engine's one-word state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  exitCode?: number;
  /** As ContainerInspection.ports. */
  ports?: PublishedPort[];
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
  /** 'ok', or what is wrong with the engine. */
  engine: string;
}

// ---- Sandbox work (exec, live output, terminals, snapshots, volumes); routes in satellite/sandbox-routes.ts.

/** Env var that tags every exec BoatLoad starts, so that a timed-out one can be found and killed. */
export const EXEC_TAG_ENV = 'BOATLOAD_EXEC_ID';

/** POST /containers/:name/exec */
export interface ExecRequest {
  cmd: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  timeoutMs: number;
  /** Bytes kept per stream; the rest is read and dropped. */
  maxOutputBytes: number;
  /** The command's standard input, base64 (none: no stdin attached). */
  stdinBase64?: string;
}

/** POST /containers/:name/result: wait for the run's exit (at most timeoutMs), then its capped output. */
export interface RunResultRequest {
  timeoutMs: number;
  maxOutputBytes: number;
}

/** A run's end: its exit code (null when it ran out of time: still running) and its output so far. */
export interface RunResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timed_out: boolean;
}

export interface ExecResult {
  /** null when the engine could not tell (the exec was killed and never reported). */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  truncated: boolean;
  timed_out: boolean;
}

/** POST /containers/:name/commit */
export interface CommitRequest {
  /** Image repository and tag, e.g. boatload/snapshot + <snapshot id>. */
  repo: string;
  tag: string;
  labels: Record<string, string>;
  comment?: string;
}

export interface CommitResult {
  imageId: string;
  size: number;
}

/** POST /volumes */
export interface VolumeCreateRequest {
  name: string;
  labels: Record<string, string>;
}

export interface VolumeInfo {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  created: string | null;
}

/**
 * The terminal's WebSocket messages (JSON text frames), the same between a client and the API
 * and between the API and a satellite. Binary frames from the client are raw stdin bytes.
 */
export type TerminalClientMessage = { type: 'stdin'; data: string } | { type: 'resize'; cols: number; rows: number };
export type TerminalServerMessage =
  | { type: 'output'; data: string }
  | { type: 'exit'; exit_code: number | null }
  | { type: 'error'; detail: string };

/** GET /usage/containers?label=k=v: one entry per container with those labels (for the disk watchdog). */
export interface ContainerDiskUsage {
  /** The engine's name. */
  name: string;
  labels: Record<string, string>;
  /** The engine's one-word state (running, exited, ...). */
  state: string;
  /** Bytes in the container's writable layer (the engine's SizeRw). */
  sizeRw: number;
}

/** POST /usage/volumes: the sizes of these volumes, measured by `du` in a helper container of `image`. */
export interface VolumeUsageRequest {
  volumes: string[];
  image: string;
}

export interface VolumeDiskUsage {
  name: string;
  bytes: number;
}

/**
 * A warm pool member runs a waiter that execs the run's command once told (satellite/warm-members.ts).
 * POST /warm creates and starts one from `spec` (its cmd is set by the satellite); the satellite
 * needs its script directory for that (SATELLITE_SCRIPT_DIR).
 */
export interface WarmCreateRequest {
  spec: ContainerSpec;
}

/** A network a taken member joins (its engine name), with its aliases there. */
export interface WarmNetwork {
  name: string;
  aliases?: string[];
}

/** POST /warm/:name/take: stage the run's script and start it as the member's PID 1. */
export interface WarmTakeRequest {
  script: ScriptStaging;
  args: string[];
  /** The run's own variables (the image's and the engine's are the member's already). */
  env: Record<string, string>;
  /**
   * The networks a cold create of the run would put its container on (its owner's), in that order:
   * a member waiting on its holding network joins them and leaves it before the script starts.
   * Absent or empty: the member stays on the network it was made on (e.g. `none`).
   */
  networks?: WarmNetwork[];
  /**
   * The networks are the Swarm's attachable overlays of the owner, which the API made on a manager
   * (units/scheduler/swarm-networks.ts): the member joins them as they are; the satellite makes no
   * network and no packet-filter rule for them.
   */
  overlays?: boolean;
  /**
   * The run's result is read once, by POST /containers/:name/result with this output cap (a
   * function invocation): the member reports it as soon as the run ends (satellite/warm-reports.ts).
   */
  report?: { maxOutputBytes: number };
}

/** GET /host/memory: what the host's kernel calls MemAvailable. */
export interface HostMemory {
  availableBytes: number;
}
