/** The API's answers and requests, as the client sees them (see README "API"). */

/** creating, starting, running, restarting, paused, stopped, exited, error, lost. */
export type ContainerStatus = string;

export interface ContainerSummary {
  id: string;
  image: string;
  owner: string;
  node: string | null;
  unit: string;
  created: string;
  status: ContainerStatus;
  exit_code: number | null;
  reason: string | null;
  expires_at: string | null;
  /** Its DNS label among its owner's containers (null: none). */
  hostname?: string | null;
  /** none, private or internet (null: made before network modes). */
  network?: NetworkMode | null;
  /** Each exposed port and where it is reached now. */
  ports?: PortView[];
}

export type NetworkMode = 'none' | 'private' | 'internet';

/** An exposed port: host_ip:host_port reaches it from other machines (null while not published). */
export interface PortView {
  port: number;
  protocol: 'tcp' | 'udp';
  host_ip: string | null;
  host_port: number | null;
}

export interface Readiness {
  status: string;
  reason: string | null;
  exit_code: number | null;
  checked: string;
  timed_out?: boolean;
}

export interface Container extends ContainerSummary {
  permanent: boolean;
  scriptname: string | null;
  scripturl: string | null;
  dataurl: string | null;
  datapath: string | null;
  container_args: string[];
  env: Record<string, string>;
  snapshot: string | null;
  volumes: Array<{ volume: string; path: string; readonly: boolean }>;
  ttl: number | null;
  readiness?: Readiness;
}

export interface CreateContainerRequest {
  image_name?: string;
  image_tag?: string;
  snapshot?: string;
  /** The script's bytes (sent base64), or already base64 text. */
  script?: Buffer | string;
  scriptname?: string;
  scripturl?: string;
  dataurl?: string;
  datapath?: string;
  container_args?: string | string[];
  env?: Record<string, string>;
  permanent?: boolean;
  ttl?: number;
  volumes?: Array<{ name: string; path: string; readonly?: boolean }>;
  /** Ports to publish: "8080", "53/udp", or {port, protocol, host_port}. */
  ports?: Array<string | { port: number; protocol?: 'tcp' | 'udp'; host_port?: number }>;
  hostname?: string;
  network?: NetworkMode;
  /** alias → one of your containers' ids. */
  links?: Record<string, string>;
}

export interface ContainerState {
  fleet_state: string | null;
  docker_state: string | null;
  status: ContainerStatus;
  reason: string | null;
  node: string | null;
  expires_at: string | null;
  ports?: PortView[];
  [key: string]: unknown;
}

export interface ContainerMetrics {
  timestamp: string;
  cpu_percent: number;
  memory: Record<string, unknown>;
  network: Record<string, unknown>;
  pids: number | Record<string, unknown> | null;
  block_io: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Change {
  Path: string;
  Kind: number;
}

export interface ChangedFile {
  num: number;
  path: string;
  size: number;
}

export interface ExecRequest {
  cmd: string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  timeout?: number;
}

export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  truncated: boolean;
  timed_out: boolean;
}

export interface Operation {
  id: string;
  kind: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  target: string;
  created: string;
  updated: string;
  result?: unknown;
  error?: string;
}

export interface Snapshot {
  id: string;
  owner: string;
  name: string | null;
  container: string;
  image: string;
  size: number | null;
  node: string | null;
  created: string;
}

export interface Volume {
  id: string;
  name: string;
  owner: string;
  engine_name: string;
  node: string | null;
  created: string;
  used_by: string[];
}

export interface User {
  username: string;
  is_admin: boolean;
  created: string;
}

export interface Me extends User {
  auth: string;
}

/** A fleet unit option: one `Name=value` line of a `[Section]`. */
export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

export type UnitDesiredState = 'inactive' | 'loaded' | 'launched';

export interface Unit {
  name: string;
  options: UnitOption[];
  desiredState: UnitDesiredState;
  currentState: UnitDesiredState;
  machineID?: string;
  reason?: string;
}

export interface UnitState {
  name: string;
  hash: string;
  machineID: string;
  systemdLoadState: string;
  systemdActiveState: string;
  systemdSubState: string;
}

export interface Machine {
  id: string;
  primaryIP: string;
  metadata: Record<string, string>;
}

/** Which output `stdout` reads. */
export interface LogOptions {
  stream?: 'stdout' | 'stderr' | 'all';
  follow?: boolean;
  tail?: number;
}

/** One Server-Sent Event of `/stream`. */
export interface OutputEvent {
  /** stdout, stderr, then exit. */
  event: string;
  data: string;
  id?: string;
}

export interface ExitInfo {
  exit_code: number | null;
  error: string | null;
  finished_at: string | null;
}

/** POST /v1/functions/: a named script (base64 or bytes) or command, invoked on demand. */
export interface CreateFunctionRequest {
  name: string;
  image_name?: string;
  image_tag?: string;
  /** The script's bytes (sent base64), or already base64 text; or `cmd`. */
  script?: Buffer | string;
  cmd?: string[];
  env?: Record<string, string>;
  /** Seconds (default 30). */
  timeout?: number;
  memory?: number;
  cpus?: number;
  network?: NetworkMode;
  min_warm?: number;
  max_warm?: number;
  max_concurrency?: number;
  idle_timeout?: number;
  /** true: one container serves the invocations, one at a time. */
  reuse?: boolean;
}

export interface FunctionInfo {
  name: string;
  owner: string;
  image_name: string;
  image_tag: string;
  cmd: string[] | null;
  has_script: boolean;
  env: Record<string, string>;
  timeout: number;
  memory: number | null;
  cpus: number | null;
  min_warm: number;
  max_warm: number;
  max_concurrency: number;
  idle_timeout: number;
  reuse: boolean;
  created: string;
  /** `warm`: a member (or the reused container) waits; `warming`: being made; `cold`: none. */
  capacity: { state: 'cold' | 'warming' | 'warm'; warm: number; warming: number; target: number; in_flight: number };
  last_invocations: Array<{ at: string; status: 'ok' | 'failed' | 'timed out'; duration_ms: number; cold: boolean }>;
}

export interface InvokeRequest {
  args?: string[];
  env?: Record<string, string>;
  /** The script's standard input: bytes (sent base64), or already base64 text. */
  stdin?: Buffer | string;
}

/** An inline invocation's answer. */
export interface InvocationResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  cold: boolean;
  timed_out: boolean;
  truncated: boolean;
}
