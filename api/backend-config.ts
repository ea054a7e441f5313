/**
 * Which scheduler backend the API drives (BOATLOAD_BACKEND), and the Swarm backend's settings.
 * Read by loadApiConfig (api/config.ts) with every other setting; README lists them.
 */
import { ConfigError, type Env, intFromEnv } from '../common/env';

export type BackendConfig =
  | { kind: 'local' }
  | {
      kind: 'swarm';
      /**
       * How the API reaches a Swarm manager: its engine (unix:///path or tcp://host:port, plain
       * HTTP), or, so that the API holds no Docker socket, the satellite on a manager node.
       */
      manager: { kind: 'engine'; dockerHost: string } | { kind: 'satellite'; url: string };
      /** The port every node's satellite publishes (mode=host). */
      satellitePort: number;
      /** Swarm's delay before it restarts or replaces a task. */
      restartDelayMs: number;
      /** How long a launch waits for Swarm to place and start the task before answering. */
      taskWaitMs: number;
      /** json-file log rotation for every service's containers. */
      logs: { maxSize: string; maxFiles: number };
    };

const SWARM_VARIABLES = [
  'BOATLOAD_SWARM_DOCKER_HOST',
  'BOATLOAD_SWARM_MANAGER_SATELLITE',
  'BOATLOAD_SWARM_SATELLITE_PORT',
  'BOATLOAD_SWARM_RESTART_DELAY_MS',
  'BOATLOAD_SWARM_TASK_WAIT_MS',
];

/** unix:///path or tcp://host:port → dockerode's connection options. */
export function dockerConnectionOf(dockerHost: string): { socketPath: string } | { host: string; port: number; protocol: 'http' } {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2375), protocol: 'http' };
}

export function backendFromEnv(env: Env): BackendConfig {
  const kind = env.BOATLOAD_BACKEND || 'local';
  if (kind === 'local') {
    const stray = SWARM_VARIABLES.find((name) => env[name]);
    if (stray) throw new ConfigError(`${stray} is set but BOATLOAD_BACKEND is not swarm`);
    return { kind: 'local' };
  }
  if (kind !== 'swarm') throw new ConfigError(`BOATLOAD_BACKEND must be local or swarm, got "${kind}"`);
  const manager = swarmManagerFromEnv(env);
  // The satellites are on other hosts: the API cannot share a generated secret file with them.
  if (!env.SATELLITE_SECRET && !env.SATELLITE_SECRET_FILE) {
    throw new ConfigError('SATELLITE_SECRET (or SATELLITE_SECRET_FILE) is required with BOATLOAD_BACKEND=swarm: every node\'s satellite must share it');
  }
  const satellitePort = intFromEnv(env, 'BOATLOAD_SWARM_SATELLITE_PORT', 8001, 1);
  if (satellitePort > 65535) throw new ConfigError(`BOATLOAD_SWARM_SATELLITE_PORT must be a port number, got "${satellitePort}"`);
  return {
    kind: 'swarm',
    manager,
    satellitePort,
    restartDelayMs: intFromEnv(env, 'BOATLOAD_SWARM_RESTART_DELAY_MS', 1000),
    taskWaitMs: intFromEnv(env, 'BOATLOAD_SWARM_TASK_WAIT_MS', 20000, 100),
    logs: { maxSize: env.BOATLOAD_LOG_MAX_SIZE || '256m', maxFiles: intFromEnv(env, 'BOATLOAD_LOG_MAX_FILES', 2, 1) },
  };
}

function swarmManagerFromEnv(env: Env): Extract<BackendConfig, { kind: 'swarm' }>['manager'] {
  const satellite = env.BOATLOAD_SWARM_MANAGER_SATELLITE;
  if (satellite) {
    if (env.BOATLOAD_SWARM_DOCKER_HOST) throw new ConfigError('Set BOATLOAD_SWARM_MANAGER_SATELLITE or BOATLOAD_SWARM_DOCKER_HOST, not both');
    let url: URL;
    try {
      url = new URL(satellite);
    } catch {
      throw new ConfigError(`BOATLOAD_SWARM_MANAGER_SATELLITE must be an http(s) URL, got "${satellite}"`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search) {
      throw new ConfigError(`BOATLOAD_SWARM_MANAGER_SATELLITE must be an http(s) URL without a path, got "${satellite}"`);
    }
    return { kind: 'satellite', url: url.origin };
  }
  const dockerHost = env.BOATLOAD_SWARM_DOCKER_HOST || 'unix:///var/run/docker.sock';
  const valid = /^unix:\/\/\/.+/.test(dockerHost) || /^tcp:\/\/[^/]+:\d+\/?$/.test(dockerHost);
  if (!valid) throw new ConfigError(`BOATLOAD_SWARM_DOCKER_HOST must be unix:///path or tcp://host:port, got "${dockerHost}"`);
  return { kind: 'engine', dockerHost };
}
