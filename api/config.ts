/**
 * The API's configuration: every setting comes from an environment variable, is validated here
 * once at start-up, and fails fast with a message naming the variable. README lists them all.
 */
import { jsonBodyLimitFor } from '../common/body-limits';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../common/project-root';
import { loadOrCreateSecretFile } from '../common/secret-file';
import { downloadPolicyFromEnv, type AddressPolicy } from '../common/address-policy';
import { ConfigError, type Env, intFromEnv, isLoopback, logFormatFromEnv } from '../common/env';
import type { LogFormat } from '../common/logger';
import { allowedHostPathProblem, HOST_NETWORK_VARIABLE, HOST_PATHS_VARIABLE, normalizeHostPath, type UnitPolicy } from '../units/unit-policy';
import { HOST_PORTS_VARIABLE, HostPortPolicy } from '../common/host-ports';
import { backendFromEnv, type BackendConfig } from './backend-config';
import { isNetworkMode, NETWORK_MODES, type NetworkMode } from '../common/network-model';
import type { NetworkModeLimits } from './containers/create-request';
import type { QuotaLimits } from './quotas/limits';

export { ConfigError };

const ADMIN_HASH = /^pbkdf2_sha256\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/;

/** ADMINHASH_FILE: the admin's hash in a file (a mounted secret); ADMINHASH wins when both are set. */
function adminHashFromFile(env: Env): string | undefined {
  const path = env.ADMINHASH_FILE;
  if (!path) return undefined;
  let hash: string;
  try {
    hash = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`ADMINHASH_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write the output of npm run hash-password into it`);
  }
  if (!ADMIN_HASH.test(hash)) throw new ConfigError(`ADMINHASH_FILE: ${path} must hold a pbkdf2_sha256$<iterations>$<salt>$<hash> string (npm run hash-password)`);
  return hash;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type { LogFormat };

export interface ApiConfig {
  host: string;
  port: number;
  dataDir: string;
  dbPath: string;
  /** BOATLOAD_DATABASE_URL: a PostgreSQL store (several API replicas) instead of the SQLite file at dbPath; null: SQLite. */
  databaseUrl: string | null;
  /** BOATLOAD_DATABASE_POOL_SIZE: connections in this replica's PostgreSQL pool (besides its lease, lock and feed connections). */
  databasePoolSize: number;
  usersFixture: string;
  /** BOATLOAD_UI_DIR: the built dashboard (ui/dist), served at /. */
  uiDir: string;
  /** ADMINHASH (or the content of ADMINHASH_FILE): replaces the admin's password hash at start-up. */
  adminHash?: string;
  passwordIterations: number;
  jwt: { secret?: string; expirationSeconds: number; refreshExpirationSeconds: number };
  session: { secret?: string; maxAgeSeconds: number; secureCookie: boolean };
  loginThrottle: { maxFailuresPerUser: number; maxFailuresPerAddress: number; windowSeconds: number };
  satellite: { url: string; secret: string; timeoutMs: number };
  limits: { scriptMaxBytes: number; downloadTimeoutMs: number; jsonBodyMaxBytes: number };
  /** Addresses that scripturl downloads may reach (public unicast, plus BOATLOAD_DOWNLOAD_ALLOW). */
  downloadAddresses: AddressPolicy;
  containers: {
    defaultImage: string;
    memoryBytes?: number;
    nanoCpus?: number;
    pidsLimit?: number;
    /** The largest limits a create request may ask for. */
    maxima: { memoryBytes: number; nanoCpus: number; pidsLimit: number };
    stopTimeoutSeconds: number;
    lifetime: ContainerLifetimeConfig;
    /** BOATLOAD_NETWORK_DEFAULT / BOATLOAD_NETWORK_MODES: the network modes of creates. */
    network: NetworkModeLimits;
  };
  stateSyncIntervalMs: number;
  /** BOATLOAD_WARM_POOL (local backend): pooled containers per image and resource class. */
  warmPool: WarmPoolConfig;
  /** BOATLOAD_BACKEND: local (this host's satellite) or swarm (api/backend-config.ts). */
  backend: BackendConfig;
  fleet: FleetListenConfig;
  actions: ContainerActionLimits;
  /** What units submitted through the unit API may take from their host (units/unit-policy.ts; its hostPorts is `hostPorts`). */
  unitPolicy: UnitPolicy;
  /** BOATLOAD_HOST_PORTS: where containers and units may publish a fixed host port (default none). */
  hostPorts: HostPortPolicy;
  quotas: QuotaConfig;
  logLevel: LogLevel;
  /** LOG_FORMAT: json, pretty, or auto (pretty when stdout is a terminal). */
  logFormat: LogFormat;
  /**
   * BOATLOAD_METRICS_HOST/_PORT: a separate listener serving GET /metrics without authentication
   * (for Prometheus on a private interface); null: off, /metrics only on the main port for admins.
   */
  metricsListener: { host: string; port: number } | null;
}

/** How long containers live (see README, "Lifetime"). */
export interface ContainerLifetimeConfig {
  /** Seconds a one-shot (permanent=false) container lives when its request gives no ttl; null: no limit. */
  defaultOneShotSeconds: number | null;
  /** The largest ttl a request may ask for; null: no maximum (then ttl 0, "no lifetime", is allowed too). */
  maxSeconds: number | null;
  /** How often the reaper looks for expired containers. */
  reapIntervalMs: number;
}

/** One-shot containers live a week by default: a weekend away still finds their output. */
const DEFAULT_ONE_SHOT_TTL_SECONDS = 7 * 24 * 3600;
/** Asked-for lifetimes are at most 30 days by default. */
const DEFAULT_TTL_MAX_SECONDS = 30 * 24 * 3600;

function lifetimeFromEnv(env: Env): ContainerLifetimeConfig {
  const orNull = (seconds: number): number | null => (seconds === 0 ? null : seconds);
  const defaultOneShotSeconds = orNull(intFromEnv(env, 'BOATLOAD_CONTAINER_TTL_SECONDS', DEFAULT_ONE_SHOT_TTL_SECONDS));
  const maxSeconds = orNull(intFromEnv(env, 'BOATLOAD_CONTAINER_TTL_MAX_SECONDS', DEFAULT_TTL_MAX_SECONDS));
  if (maxSeconds !== null && (defaultOneShotSeconds === null || defaultOneShotSeconds > maxSeconds)) {
    const given = defaultOneShotSeconds === null ? '0 (no lifetime)' : String(defaultOneShotSeconds);
    throw new ConfigError(`BOATLOAD_CONTAINER_TTL_SECONDS (${given}) must be from 1 to BOATLOAD_CONTAINER_TTL_MAX_SECONDS (${maxSeconds}); set BOATLOAD_CONTAINER_TTL_MAX_SECONDS=0 for no maximum`);
  }
  return { defaultOneShotSeconds, maxSeconds, reapIntervalMs: intFromEnv(env, 'BOATLOAD_CONTAINER_REAP_INTERVAL_MS', 30000, 100) };
}

/** Installation-wide quota defaults (0: unlimited; admins override them per user) and the disk watchdog. */
export interface QuotaConfig {
  defaults: QuotaLimits;
  /** How often the disk watchdog measures writable layers and volumes; 0: never. */
  diskWatchIntervalMs: number;
}

const GIB = 1024 * 1024 * 1024;

function quotaConfigFromEnv(env: Env): QuotaConfig {
  const watch = intFromEnv(env, 'BOATLOAD_QUOTA_DISK_WATCH_INTERVAL_MS', 60000);
  if (watch > 0 && watch < 200) throw new ConfigError(`BOATLOAD_QUOTA_DISK_WATCH_INTERVAL_MS must be 0 (off) or at least 200, got "${watch}"`);
  return {
    defaults: {
      containers: intFromEnv(env, 'BOATLOAD_QUOTA_CONTAINERS', 100),
      volumes: intFromEnv(env, 'BOATLOAD_QUOTA_VOLUMES', 20),
      snapshots: intFromEnv(env, 'BOATLOAD_QUOTA_SNAPSHOTS', 50),
      containerDiskBytes: intFromEnv(env, 'BOATLOAD_QUOTA_CONTAINER_DISK_BYTES', 10 * GIB),
      volumeBytes: intFromEnv(env, 'BOATLOAD_QUOTA_VOLUME_BYTES', 10 * GIB),
    },
    diskWatchIntervalMs: watch,
  };
}

/** Limits of the container actions (exec, ?wait=ready, fork, batch create). */
export interface ContainerActionLimits {
  /** Bytes of stdout and of stderr an exec answers with; the rest is dropped (truncated: true). */
  execOutputMaxBytes: number;
  /** Longest exec timeout a caller may ask for; also the default is min(60, this). */
  execTimeoutMaxSeconds: number;
  /** Longest `POST /v1/container/?wait=ready&timeout=` a caller may ask for. */
  waitReadyMaxSeconds: number;
  forkMaxCount: number;
  batchMaxRequests: number;
}

function actionLimitsFromEnv(env: Env): ContainerActionLimits {
  const bounded = (name: string, fallback: number, min: number, max: number): number => {
    const value = intFromEnv(env, name, fallback, min);
    if (value > max) throw new ConfigError(`${name} must be at most ${max}, got "${value}"`);
    return value;
  };
  return {
    execOutputMaxBytes: bounded('BOATLOAD_EXEC_OUTPUT_MAX_BYTES', 1024 * 1024, 0, 64 * 1024 * 1024),
    execTimeoutMaxSeconds: bounded('BOATLOAD_EXEC_TIMEOUT_MAX_SECONDS', 600, 1, 24 * 3600),
    waitReadyMaxSeconds: bounded('BOATLOAD_WAIT_READY_MAX_SECONDS', 120, 1, 3600),
    forkMaxCount: bounded('BOATLOAD_FORK_MAX_COUNT', 10, 1, 100),
    batchMaxRequests: bounded('BOATLOAD_BATCH_MAX_REQUESTS', 100, 1, 1000),
  };
}

/** Where the fleet-compatible unit API listens besides the main port (where it is admin-only). */
export interface FleetListenConfig {
  /** Unix socket without auth (file mode 0600 guards it); null: none. */
  socketPath: string | null;
  /** HTTPS that requires a client certificate signed by `caFile`; null: none. */
  tls: { host: string; port: number; certFile: string; keyFile: string; caFile: string } | null;
}

/** What loadApiConfig needs to know about the process itself. */
export interface ProcessFacts {
  isRoot: boolean;
}

/** fleetctl's default endpoint is unix:///var/run/fleet.sock. */
export const DEFAULT_FLEET_SOCKET = '/var/run/fleet.sock';
// sun_path holds 108 bytes on Linux (104 on BSDs), including the final NUL.
const MAX_SOCKET_PATH_BYTES = 103;

function fleetSocketFromEnv(env: Env, facts: ProcessFacts): string | null {
  const raw = env.BOATLOAD_FLEET_SOCKET;
  if (raw === undefined || raw === '') return facts.isRoot ? DEFAULT_FLEET_SOCKET : null;
  if (raw === 'off') return null;
  if (!isAbsolute(raw)) throw new ConfigError(`BOATLOAD_FLEET_SOCKET must be an absolute path or "off", got "${raw}"`);
  if (Buffer.byteLength(raw) > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError(`BOATLOAD_FLEET_SOCKET must be at most ${MAX_SOCKET_PATH_BYTES} bytes long (a unix socket path limit)`);
  }
  return raw;
}

function readableFile(env: Env, name: string): string {
  const raw = env[name];
  if (!raw) throw new ConfigError(`${name} is required when BOATLOAD_FLEET_TLS_PORT is set`);
  const path = resolve(raw);
  try {
    accessSync(path, fsConstants.R_OK);
  } catch {
    throw new ConfigError(`${name} must name a readable PEM file, got "${raw}"`);
  }
  return path;
}

function fleetTlsFromEnv(env: Env, defaultHost: string): FleetListenConfig['tls'] {
  const files = ['BOATLOAD_FLEET_TLS_CERT', 'BOATLOAD_FLEET_TLS_KEY', 'BOATLOAD_FLEET_TLS_CA'];
  if (env.BOATLOAD_FLEET_TLS_PORT === undefined || env.BOATLOAD_FLEET_TLS_PORT === '') {
    const stray = [...files, 'BOATLOAD_FLEET_TLS_HOST'].find((name) => env[name]);
    if (stray) throw new ConfigError(`${stray} is set but BOATLOAD_FLEET_TLS_PORT is not`);
    return null;
  }
  const port = intFromEnv(env, 'BOATLOAD_FLEET_TLS_PORT', 0);
  if (port > 65535) throw new ConfigError(`BOATLOAD_FLEET_TLS_PORT must be a port number (0-65535), got "${port}"`);
  return {
    host: env.BOATLOAD_FLEET_TLS_HOST || defaultHost,
    port,
    certFile: readableFile(env, 'BOATLOAD_FLEET_TLS_CERT'),
    keyFile: readableFile(env, 'BOATLOAD_FLEET_TLS_KEY'),
    caFile: readableFile(env, 'BOATLOAD_FLEET_TLS_CA'),
  };
}

function metricsListenerFromEnv(env: Env): ApiConfig['metricsListener'] {
  if (env.BOATLOAD_METRICS_PORT === undefined || env.BOATLOAD_METRICS_PORT === '') {
    if (env.BOATLOAD_METRICS_HOST) throw new ConfigError('BOATLOAD_METRICS_HOST is set but BOATLOAD_METRICS_PORT is not');
    return null;
  }
  const port = intFromEnv(env, 'BOATLOAD_METRICS_PORT', 0);
  if (port > 65535) throw new ConfigError(`BOATLOAD_METRICS_PORT must be a port number (0-65535), got "${port}"`);
  return { host: env.BOATLOAD_METRICS_HOST || '127.0.0.1', port };
}

export interface WarmPoolConfig {
  classes: Array<{ image: string; memoryBytes?: number; nanoCpus?: number; pidsLimit?: number; network?: 'none'; size: number }>;
  /** BOATLOAD_WARM_POOL_MIN_AVAILABLE_BYTES: under this much available host memory the pool shrinks. */
  minAvailableBytes: number;
}

const WARM_CLASS = /^([^;=\s]+)((?:;(?:(?:memory|cpus|pids)=[0-9.]+|network=none))*)=(\d{1,3})$/;

/**
 * `IMAGE[;memory=BYTES][;cpus=N][;pids=N][;network=none]=COUNT`, comma- or space-separated, e.g.
 * `boatload/base:latest=4`; an image without a tag means `:latest`. Empty: no pool. Without
 * `network=none` a class serves `private` and `internet` runs (members join the owner's networks
 * at the take); with it, `none` runs.
 */
function warmPoolFromEnv(env: Env): WarmPoolConfig {
  const name = 'BOATLOAD_WARM_POOL';
  const classes: WarmPoolConfig['classes'] = [];
  for (const entry of (env[name] ?? '').split(/[,\s]+/).filter(Boolean)) {
    const match = WARM_CLASS.exec(entry);
    const size = match ? Number(match[3]) : NaN;
    if (!match || size < 1 || size > 64) throw new ConfigError(`${name} entries must look like boatload/base:latest=4 or IMAGE;memory=BYTES;cpus=N;pids=N=COUNT (1-64), got "${entry}"`);
    const image = /:[^/]+$/.test(match[1]) ? match[1] : `${match[1]}:latest`;
    const cls: WarmPoolConfig['classes'][number] = { image, size };
    for (const option of match[2].split(';').filter(Boolean)) {
      const [key, value] = option.split('=');
      if (key === 'network') {
        cls.network = 'none';
        continue;
      }
      const number = Number(value);
      if (!Number.isFinite(number) || number <= 0) throw new ConfigError(`${name}: ${key} must be a positive number in "${entry}"`);
      if (key === 'memory') cls.memoryBytes = Math.round(number);
      else if (key === 'cpus') cls.nanoCpus = Math.round(number * 1e9);
      else cls.pidsLimit = Math.round(number);
    }
    classes.push(cls);
  }
  return { classes, minAvailableBytes: intFromEnv(env, 'BOATLOAD_WARM_POOL_MIN_AVAILABLE_BYTES', 512 * 1024 * 1024, 0) };
}

function optionalPositive(env: Env, name: string, fallback: number): number | undefined {
  const value = intFromEnv(env, name, fallback);
  return value === 0 ? undefined : value;
}

function cpusFromEnv(env: Env, name: string, fallback: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback ? Math.round(fallback * 1e9) : undefined;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(`${name} must be a number of CPUs such as 1.5, got "${raw}"`);
  return Number(raw) === 0 ? undefined : Math.round(Number(raw) * 1e9);
}

function boolFromEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** BOATLOAD_PASSWORD_ITERATIONS: PBKDF2 iterations for new hashes (at least 1000); hash-password reads it too. */
export function passwordIterationsFromEnv(env: Env = process.env): number {
  return intFromEnv(env, 'BOATLOAD_PASSWORD_ITERATIONS', 600000, 1000);
}

/** BOATLOAD_UNIT_ALLOW_HOST_PATHS (comma-separated absolute paths) and BOATLOAD_UNIT_ALLOW_HOST_NETWORK. */
function hostPortsFromEnv(env: Env): HostPortPolicy {
  try {
    return HostPortPolicy.parse(env[HOST_PORTS_VARIABLE] ?? '');
  } catch (err) {
    throw new ConfigError(`${HOST_PORTS_VARIABLE} must be a comma-separated list of ports or ranges such as 20000-20999: ${(err as Error).message}`);
  }
}

function unitPolicyFromEnv(env: Env): UnitPolicy {
  const paths = (env[HOST_PATHS_VARIABLE] ?? '').split(',').map((path) => path.trim()).filter((path) => path !== '');
  for (const path of paths) {
    const problem = allowedHostPathProblem(path);
    if (problem) throw new ConfigError(`${HOST_PATHS_VARIABLE} must be a comma-separated list of absolute host paths: ${problem}`);
  }
  return { hostPaths: [...new Set(paths.map(normalizeHostPath))], hostNetwork: boolFromEnv(env, HOST_NETWORK_VARIABLE, false) };
}

/** BOATLOAD_NETWORK_MODES (comma-separated, default all) and BOATLOAD_NETWORK_DEFAULT (default internet). */
function networkModesFromEnv(env: Env): NetworkModeLimits {
  const modes = (env.BOATLOAD_NETWORK_MODES || NETWORK_MODES.join(',')).split(',').map((m) => m.trim()).filter(Boolean);
  const bad = modes.find((m) => !isNetworkMode(m));
  if (bad !== undefined || modes.length === 0) throw new ConfigError(`BOATLOAD_NETWORK_MODES must list modes among ${NETWORK_MODES.join(', ')}, got "${bad ?? ''}"`);
  const defaultMode = env.BOATLOAD_NETWORK_DEFAULT || 'internet';
  if (!isNetworkMode(defaultMode)) throw new ConfigError(`BOATLOAD_NETWORK_DEFAULT must be one of ${NETWORK_MODES.join(', ')}, got "${defaultMode}"`);
  if (!modes.includes(defaultMode)) throw new ConfigError(`BOATLOAD_NETWORK_DEFAULT "${defaultMode}" is not among BOATLOAD_NETWORK_MODES (${modes.join(', ')})`);
  return { defaultMode, allowed: [...new Set(modes)] as NetworkMode[] };
}

/** BOATLOAD_DATABASE_URL: empty or unset for the SQLite file; otherwise a postgres:// URL with a host. */
function databaseUrlFromEnv(env: Env): string | null {
  const value = env.BOATLOAD_DATABASE_URL;
  if (value === undefined || value === '') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('BOATLOAD_DATABASE_URL must be a postgres://user:password@host:port/database URL (it is not a URL)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`BOATLOAD_DATABASE_URL must be a postgres:// (or postgresql://) URL, got the scheme "${url.protocol}"; unset it for the SQLite store at BOATLOAD_DB_PATH`);
  }
  if (url.hostname === '') throw new ConfigError('BOATLOAD_DATABASE_URL must name the PostgreSQL host (postgres://user:password@host:port/database)');
  return value;
}

/** The most a replica's pool may hold: PostgreSQL's own default max_connections is 100 for every client together. */
const DATABASE_POOL_MAX = 500;

/** BOATLOAD_DATABASE_POOL_SIZE: 1..DATABASE_POOL_MAX connections, 10 by default (read with SQLite too: a typo still stops start-up). */
function databasePoolSizeFromEnv(env: Env): number {
  const size = intFromEnv(env, 'BOATLOAD_DATABASE_POOL_SIZE', 10, 1);
  if (size > DATABASE_POOL_MAX) throw new ConfigError(`BOATLOAD_DATABASE_POOL_SIZE must be at most ${DATABASE_POOL_MAX} connections, got "${size}"`);
  return size;
}

export function loadApiConfig(env: Env = process.env, facts: ProcessFacts = { isRoot: process.getuid?.() === 0 }): ApiConfig {
  const dataDir = resolve(env.BOATLOAD_DATA_DIR ?? join(projectRoot(), 'data'));
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError('LOG_LEVEL must be debug, info, warn or error');
  const satelliteUrl = env.SATELLITE_URL ?? 'http://127.0.0.1:8001';
  try {
    const url = new URL(satelliteUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`SATELLITE_URL must be an http(s) URL, got "${satelliteUrl}"`);
  }
  let satelliteSecret = env.SATELLITE_SECRET;
  if (!satelliteSecret) {
    if (!isLoopback(new URL(satelliteUrl).hostname) && !env.SATELLITE_SECRET_FILE) {
      throw new ConfigError('SATELLITE_SECRET (or SATELLITE_SECRET_FILE) is required when SATELLITE_URL is not on loopback');
    }
    satelliteSecret = loadOrCreateSecretFile(env.SATELLITE_SECRET_FILE ?? join(dataDir, 'secrets', 'satellite.secret'));
  }
  if (env.BOATLOAD_JWT_SECRET !== undefined && env.BOATLOAD_JWT_SECRET.length < 32) {
    throw new ConfigError('BOATLOAD_JWT_SECRET must be at least 32 characters');
  }
  if (env.ADMINHASH !== undefined && !ADMIN_HASH.test(env.ADMINHASH)) {
    throw new ConfigError('ADMINHASH must be a pbkdf2_sha256$<iterations>$<salt>$<hash> string (npm run hash-password)');
  }
  const scriptMaxBytes = intFromEnv(env, 'BOATLOAD_SCRIPT_MAX_BYTES', 1024 * 1024, 1);
  const host = env.BOATLOAD_HOST ?? '127.0.0.1';
  return {
    host,
    port: intFromEnv(env, 'BOATLOAD_PORT', 8000),
    dataDir,
    dbPath: resolve(env.BOATLOAD_DB_PATH ?? join(dataDir, 'boatload.sqlite3')),
    databaseUrl: databaseUrlFromEnv(env),
    databasePoolSize: databasePoolSizeFromEnv(env),
    usersFixture: resolve(env.BOATLOAD_USERS_FIXTURE ?? join(projectRoot(), 'data', 'data.json')),
    uiDir: resolve(env.BOATLOAD_UI_DIR ?? join(projectRoot(), 'ui', 'dist')),
    adminHash: env.ADMINHASH || adminHashFromFile(env),
    passwordIterations: passwordIterationsFromEnv(env),
    jwt: {
      secret: env.BOATLOAD_JWT_SECRET || undefined,
      expirationSeconds: intFromEnv(env, 'BOATLOAD_JWT_EXPIRATION_SECONDS', 3600, 1),
      refreshExpirationSeconds: intFromEnv(env, 'BOATLOAD_JWT_REFRESH_EXPIRATION_SECONDS', 7 * 24 * 3600, 1),
    },
    session: {
      secret: env.BOATLOAD_SESSION_SECRET || undefined,
      maxAgeSeconds: intFromEnv(env, 'BOATLOAD_SESSION_MAX_AGE_SECONDS', 14 * 24 * 3600, 60),
      secureCookie: boolFromEnv(env, 'BOATLOAD_COOKIE_SECURE', false),
    },
    loginThrottle: {
      maxFailuresPerUser: intFromEnv(env, 'BOATLOAD_LOGIN_MAX_FAILURES_PER_USER', 10, 1),
      maxFailuresPerAddress: intFromEnv(env, 'BOATLOAD_LOGIN_MAX_FAILURES_PER_ADDRESS', 50, 1),
      windowSeconds: intFromEnv(env, 'BOATLOAD_LOGIN_WINDOW_SECONDS', 900, 1),
    },
    satellite: { url: satelliteUrl.replace(/\/+$/, ''), secret: satelliteSecret, timeoutMs: intFromEnv(env, 'SATELLITE_TIMEOUT_MS', 30000, 100) },
    limits: {
      scriptMaxBytes,
      downloadTimeoutMs: intFromEnv(env, 'BOATLOAD_DOWNLOAD_TIMEOUT_MS', 60000, 1),
      // Base64 grows the script by 4/3; leave room for the other fields.
      jsonBodyMaxBytes: jsonBodyLimitFor(scriptMaxBytes),
    },
    downloadAddresses: downloadPolicyFromEnv(env),
    containers: {
      defaultImage: env.BOATLOAD_DEFAULT_IMAGE ?? 'boatload/base',
      memoryBytes: optionalPositive(env, 'BOATLOAD_CONTAINER_MEMORY_BYTES', 1024 * 1024 * 1024),
      nanoCpus: cpusFromEnv(env, 'BOATLOAD_CONTAINER_CPUS', 1),
      pidsLimit: optionalPositive(env, 'BOATLOAD_CONTAINER_PIDS_LIMIT', 512),
      maxima: {
        memoryBytes: intFromEnv(env, 'BOATLOAD_CONTAINER_MEMORY_MAX_BYTES', 8 * 1024 * 1024 * 1024, 6 * 1024 * 1024),
        nanoCpus: cpusFromEnv(env, 'BOATLOAD_CONTAINER_CPUS_MAX', 2) ?? 2e9,
        pidsLimit: intFromEnv(env, 'BOATLOAD_CONTAINER_PIDS_MAX', 4096, 8),
      },
      stopTimeoutSeconds: intFromEnv(env, 'BOATLOAD_STOP_TIMEOUT_SECONDS', 5),
      lifetime: lifetimeFromEnv(env),
      network: networkModesFromEnv(env),
    },
    stateSyncIntervalMs: intFromEnv(env, 'BOATLOAD_STATE_SYNC_INTERVAL_MS', 2000, 100),
    warmPool: warmPoolFromEnv(env),
    backend: backendFromEnv(env),
    fleet: { socketPath: fleetSocketFromEnv(env, facts), tls: fleetTlsFromEnv(env, host) },
    actions: actionLimitsFromEnv(env),
    unitPolicy: unitPolicyFromEnv(env),
    hostPorts: hostPortsFromEnv(env),
    quotas: quotaConfigFromEnv(env),
    logLevel: logLevel as LogLevel,
    logFormat: logFormatFromEnv(env, process.stdout.isTTY === true),
    metricsListener: metricsListenerFromEnv(env),
  };
}
