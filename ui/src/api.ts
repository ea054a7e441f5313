/**
 * The API as the dashboard uses it: same-origin fetches with the session cookie, the csrftoken
 * cookie echoed in X-CSRFToken on writes, and the API's own error messages as ApiError.
 */
import type { ContainerMetrics } from '../../common/satellite-protocol';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface User {
  username: string;
  is_admin: boolean;
  created?: string;
}

/** A fleet unit, as GET /fleet/v1/units lists it. */
export interface Unit {
  name: string;
  desiredState: string;
  currentState: string;
  machineID?: string;
}

/** fleet's desired states: submitted (inactive), loaded, started (launched). */
export type UnitDesiredState = 'inactive' | 'loaded' | 'launched';

export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

/** A fleet machine, as GET /fleet/v1/machines lists it. */
export interface Machine {
  id: string;
  primaryIP: string;
  metadata?: Record<string, string>;
}

/** GET /v1/container/<id>/metrics: one sample (the satellite's shape, relayed as it is). */
export type Metrics = ContainerMetrics;

export interface Operation {
  id: string;
  kind: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  target: string;
  result?: unknown;
  error?: string;
}

export interface Snapshot {
  id: string;
  name: string | null;
  image: string;
  size: number;
}

export type ContainerStatus = 'creating' | 'starting' | 'running' | 'restarting' | 'paused' | 'exited' | 'error' | 'lost' | 'stopped';

export interface ContainerSummary {
  id: string;
  image: string;
  owner: string;
  node: string | null;
  created: string;
  status: ContainerStatus;
  exit_code: number | null;
  reason: string | null;
  hostname?: string | null;
  network?: 'none' | 'private' | 'internet' | null;
  /** Each exposed port and where it is reached now (host fields null until published). */
  ports?: Array<{ port: number; protocol: 'tcp' | 'udp'; host_ip: string | null; host_port: number | null }>;
}

export interface Container extends ContainerSummary {
  permanent: boolean;
  container_args: string[];
  env: Record<string, string>;
}

export interface ContainerState {
  /** The scheduler's view, as systemd would show the unit. */
  fleet_state: { name: string; loadState: string; activeState: string; subState: string };
  /** The engine's State of the container ({} before the engine has it). */
  docker_state: { Status?: string; StartedAt?: string; FinishedAt?: string; ExitCode?: number };
  status: string;
  reason: string | null;
  ports?: ContainerSummary['ports'];
}

export interface ChangedFile {
  num: number;
  path: string;
  size: number;
}

export interface ExecResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
}

function csrfToken(): string {
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : '';
}

/**
 * The API's message from an error body: {"detail": "..."} or {"field": ["msg", ...]}, or the fleet
 * API's {"error": {"code": N, "message": "..."}}.
 */
export function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === 'string') return record.detail;
    const fleet = record.error as Record<string, unknown> | undefined;
    if (fleet && typeof fleet === 'object' && typeof fleet.message === 'string') return fleet.message;
    const parts = Object.entries(record).map(([field, value]) => {
      const text = Array.isArray(value) ? value.map(String).join(' ') : String(value);
      return field === 'non_field_errors' ? text : `${field}: ${text}`;
    });
    if (parts.length) return parts.join('; ');
  }
  return `The API answered ${status}.`;
}

async function request(method: string, path: string, body?: FormData | object): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (!res.ok) {
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    throw new ApiError(res.status, errorMessage(parsed, res.status));
  }
  return res;
}

/** Every page of a fleet list (fleet pages with nextPageToken). */
async function allPages<T>(path: string, key: string): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await json<Record<string, unknown>>('GET', token ? `${path}?nextPageToken=${encodeURIComponent(token)}` : path);
    items.push(...((page[key] as T[] | undefined) ?? []));
    token = typeof page.nextPageToken === 'string' ? page.nextPageToken : undefined;
  } while (token);
  return items;
}

async function json<T>(method: string, path: string, body?: FormData | object): Promise<T> {
  return (await (await request(method, path, body)).json()) as T;
}

const c = (id: string): string => `/v1/container/${encodeURIComponent(id)}`;
const unit = (name: string): string => `/fleet/v1/units/${encodeURIComponent(name)}`;

export const api = {
  me: () => json<User>('GET', '/v1/auth/me'),
  login: (username: string, password: string) => json<User>('POST', '/v1/auth/login', { username, password }),
  logout: async () => {
    await request('POST', '/v1/auth/logout');
  },
  containers: () => json<ContainerSummary[]>('GET', '/v1/container/'),
  create: (form: FormData) => json<Container>('POST', '/v1/container/', form),
  container: (id: string) => json<Container>('GET', c(id)),
  state: (id: string) => json<ContainerState>('GET', `${c(id)}/state`),
  stdout: async (id: string) => (await request('GET', `${c(id)}/stdout`)).text(),
  files: (id: string) => json<ChangedFile[]>('GET', `${c(id)}/file`),
  exec: (id: string, command: string) => json<ExecResult>('POST', `${c(id)}/exec`, { cmd: ['/bin/sh', '-c', command] }),
  remove: async (id: string) => {
    await request('DELETE', c(id));
  },
  changePassword: async (oldPassword: string, newPassword: string) => {
    await request('POST', '/v1/auth/password', { old_password: oldPassword, new_password: newPassword });
  },
  users: () => json<User[]>('GET', '/v1/users/'),
  createUser: (body: { username: string; password: string; is_admin: boolean }) => json<User>('POST', '/v1/users/', body),
  deleteUser: async (username: string) => {
    await request('DELETE', `/v1/users/${encodeURIComponent(username)}`);
  },
  metrics: (id: string) => json<Metrics>('GET', `${c(id)}/metrics`),
  snapshot: async (id: string, name: string) => (await json<{ operation: Operation }>('POST', `${c(id)}/snapshot`, name ? { name } : {})).operation,
  fork: async (id: string, count: number) => (await json<{ operation: Operation }>('POST', `${c(id)}/fork`, { count })).operation,
  operation: async (id: string) => (await json<{ operation: Operation }>('GET', `/v1/operations/${encodeURIComponent(id)}`)).operation,
  units: () => allPages<Unit>('/fleet/v1/units', 'units'),
  machines: () => allPages<Machine>('/fleet/v1/machines', 'machines'),
  /** Submit a unit (options) with a desired state, or change a unit's desired state (no options). */
  putUnit: async (name: string, body: { desiredState: UnitDesiredState; options?: UnitOption[] }) => {
    await request('PUT', unit(name), body);
  },
  destroyUnit: async (name: string) => {
    await request('DELETE', unit(name));
  },
  /** The terminal's WebSocket: same origin, so the session cookie goes with it (the API checks the Origin). */
  terminalUrl: (id: string, size: { cols: number; rows: number }) =>
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${c(id)}/terminal?cols=${size.cols}&rows=${size.rows}`,
  streamUrl: (id: string) => `${c(id)}/stream`,
  fileUrl: (id: string, num: number) => `${c(id)}/filebynum/${num}`,
  archiveUrl: (id: string) => `${c(id)}/archive`,
};
