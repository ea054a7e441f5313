/** The satellite's configuration, from environment variables, validated once at start-up. */
import { join } from 'node:path';
import { jsonBodyLimitFor } from '../common/body-limits';
import { downloadPolicyFromEnv, type AddressPolicy } from '../common/address-policy';
import { ConfigError, type Env, intFromEnv, isLoopback, logFormatFromEnv } from '../common/env';
import type { LogFormat } from '../common/logger';
import { projectRoot } from '../common/project-root';
import { loadOrCreateSecretFile } from '../common/secret-file';
import { parseEgressAllow } from '../common/network-model';
import { CHAIN_PREFIX } from './firewall';
import { HOST_PORTS_VARIABLE, HostPortPolicy, type PortRange } from '../common/host-ports';

export { ConfigError };

export interface SatelliteConfig {
  host: string;
  port: number;
  secret: string;
  signatureWindowSeconds: number;
  publicIp?: string;
  metadata: Record<string, string>;
  dataMaxBytes: number;
  dataMaxEntries: number;
  dataMaxRatio: number;
  downloadTimeoutMs: number;
  downloadAddresses: AddressPolicy;
  logMaxSize: string;
  logMaxFiles: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** LOG_FORMAT: json, pretty, or auto (pretty when stdout is a terminal). */
  logFormat: LogFormat;
  /** Host directory for scripts bind-mounted into containers; null: copy them into each container. */
  scriptDir: string | null;
  /** Largest request body: a create request carrying a script of BOATLOAD_SCRIPT_MAX_BYTES (base64). */
  maxBodyBytes: number;
  /** Forward the swarm backend's Swarm calls to this node's engine (on managers; satellite/swarm-proxy.ts). */
  swarmProxy: boolean;
  /**
   * SATELLITE_METRICS_HOST/_PORT: a separate listener serving GET /metrics without a signature (for
   * Prometheus on a private interface); null: off, /metrics only as a signed route.
   */
  metricsListener: { host: string; port: number } | null;
  /**
   * SATELLITE_FIREWALL (default on): the packet-filter rules of the network policy (firewall.ts),
   * with their chain prefix (SATELLITE_FIREWALL_CHAIN) and BOATLOAD_EGRESS_ALLOW; null: off.
   * `hostPorts` (BOATLOAD_HOST_PORTS): fixed published ports, which containers leaving through a
   * Swarm node's docker_gwbridge may reach on the nodes (swarm-gateway.ts).
   */
  firewall: { prefix: string; egressAllow: string[]; hostPorts: PortRange[] } | null;
  /**
   * SATELLITE_NETWORK_GRACE_SECONDS (default 300): how long a user's networks (and their rules) stay
   * after the user's last container here goes, so that the next create joins them instead of making
   * them again; 0 removes them with the last container.
   */
  networkGraceMs: number;
}

/** `k=v,k2=v2` → {k: v, k2: v2}. */
export function parseMetadata(raw: string | undefined, name: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (!raw) return metadata;
  for (const pair of raw.split(',')) {
    const match = /^\s*([A-Za-z0-9_.-]+)=([^,]*)$/.exec(pair);
    if (!match) throw new ConfigError(`${name}: "${pair}" is not key=value`);
    metadata[match[1]] = match[2].trim();
  }
  return metadata;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new ConfigError(`${name} must be on or off, got "${value}"`);
}

function metricsListenerFromEnv(env: Env): SatelliteConfig['metricsListener'] {
  if (env.SATELLITE_METRICS_PORT === undefined || env.SATELLITE_METRICS_PORT === '') {
    if (env.SATELLITE_METRICS_HOST) throw new ConfigError('SATELLITE_METRICS_HOST is set but SATELLITE_METRICS_PORT is not');
    return null;
  }
  const port = intFromEnv(env, 'SATELLITE_METRICS_PORT', 0);
  if (port > 65535) throw new ConfigError(`SATELLITE_METRICS_PORT must be a port number (0-65535), got "${port}"`);
  return { host: env.SATELLITE_METRICS_HOST || '127.0.0.1', port };
}

function firewallFromEnv(env: Env): SatelliteConfig['firewall'] {
  let egressAllow: string[];
  try {
    egressAllow = parseEgressAllow(env.BOATLOAD_EGRESS_ALLOW);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const prefix = env.SATELLITE_FIREWALL_CHAIN || 'BOATLOAD';
  if (!CHAIN_PREFIX.test(prefix)) throw new ConfigError(`SATELLITE_FIREWALL_CHAIN must be 1-15 of A-Z, 0-9 and _, starting with a letter, got "${prefix}"`);
  let hostPorts: PortRange[];
  try {
    hostPorts = [...HostPortPolicy.parse(env[HOST_PORTS_VARIABLE] ?? '').ranges];
  } catch (err) {
    throw new ConfigError(`${HOST_PORTS_VARIABLE} must be a comma-separated list of ports or ranges such as 20000-20999: ${(err as Error).message}`);
  }
  return onOff(env, 'SATELLITE_FIREWALL', true) ? { prefix, egressAllow, hostPorts } : null;
}

function networkGraceFromEnv(env: Env): number {
  const seconds = intFromEnv(env, 'SATELLITE_NETWORK_GRACE_SECONDS', 300, 0);
  // A timer holds it: Node's timers stop at 2^31-1 ms (~24 days).
  if (seconds > 86_400) throw new ConfigError(`SATELLITE_NETWORK_GRACE_SECONDS must be at most 86400 (a day), got "${seconds}"`);
  return seconds * 1000;
}

export function loadSatelliteConfig(env: Env = process.env): SatelliteConfig {
  const host = env.SATELLITE_HOST ?? '127.0.0.1';
  const dataDir = env.BOATLOAD_DATA_DIR ?? join(projectRoot(), 'data');
  let secret = env.SATELLITE_SECRET;
  if (!secret) {
    if (!isLoopback(host) && !env.SATELLITE_SECRET_FILE) {
      throw new ConfigError(`SATELLITE_SECRET (or SATELLITE_SECRET_FILE) is required when SATELLITE_HOST is not loopback (${host})`);
    }
    secret = loadOrCreateSecretFile(env.SATELLITE_SECRET_FILE ?? join(dataDir, 'secrets', 'satellite.secret'));
  }
  if (secret.length < 16) throw new ConfigError('SATELLITE_SECRET must be at least 16 characters');
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error`);
  return {
    host,
    port: intFromEnv(env, 'SATELLITE_PORT', 8001),
    secret,
    signatureWindowSeconds: intFromEnv(env, 'SATELLITE_SIGNATURE_WINDOW_SECONDS', 30, 1),
    publicIp: env.SATELLITE_PUBLIC_IP || undefined,
    metadata: parseMetadata(env.SATELLITE_METADATA, 'SATELLITE_METADATA'),
    dataMaxBytes: intFromEnv(env, 'BOATLOAD_DATA_MAX_BYTES', 256 * 1024 * 1024, 1),
    dataMaxEntries: intFromEnv(env, 'BOATLOAD_DATA_MAX_ENTRIES', 20000, 1),
    dataMaxRatio: intFromEnv(env, 'BOATLOAD_DATA_MAX_RATIO', 100, 1),
    downloadTimeoutMs: intFromEnv(env, 'BOATLOAD_DOWNLOAD_TIMEOUT_MS', 60000, 1),
    downloadAddresses: downloadPolicyFromEnv(env),
    logMaxSize: env.BOATLOAD_LOG_MAX_SIZE ?? '256m',
    logMaxFiles: intFromEnv(env, 'BOATLOAD_LOG_MAX_FILES', 2, 1),
    logLevel: logLevel as SatelliteConfig['logLevel'],
    logFormat: logFormatFromEnv(env, process.stdout.isTTY === true),
    scriptDir: env.SATELLITE_SCRIPT_DIR === 'off' ? null : (env.SATELLITE_SCRIPT_DIR || join(dataDir, 'scripts')),
    maxBodyBytes: jsonBodyLimitFor(intFromEnv(env, 'BOATLOAD_SCRIPT_MAX_BYTES', 1024 * 1024, 1)),
    swarmProxy: onOff(env, 'SATELLITE_SWARM_PROXY', false),
    metricsListener: metricsListenerFromEnv(env),
    firewall: firewallFromEnv(env),
    networkGraceMs: networkGraceFromEnv(env),
  };
}
