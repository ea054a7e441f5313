/**
 * The scheduler backend and the satellite directory that go with it, chosen by BOATLOAD_BACKEND:
 * `local` drives this host's satellite (SATELLITE_URL) and reads through it; `swarm` drives a Swarm
 * manager (its engine, BOATLOAD_SWARM_DOCKER_HOST, or its satellite, BOATLOAD_SWARM_MANAGER_SATELLITE)
 * and reads through the satellite on each node.
 */
import type { Leadership } from '../units/scheduler/leadership';
import Docker from 'dockerode';
import { Agent } from 'node:http';
import type { Logger } from '../common/logger';
import type { SchedulerBackend } from '../units/scheduler/backend';
import { LocalBackend } from '../units/scheduler/local-backend';
import { SwarmBackend, type SwarmPlacementContext } from '../units/scheduler/swarm-backend';
import { SwarmNodes } from '../units/scheduler/swarm-nodes';
import { SwarmWarmPools } from '../units/scheduler/swarm-warm';
import { SwarmWarmBackend } from '../units/scheduler/swarm-warm-backend';
import type { WarmCapacity } from '../units/scheduler/warm-capacity';
import { WarmPool } from '../units/scheduler/warm-pool';
import type { DedicatedPool } from './functions/capacity';
import { dockerConnectionOf, type BackendConfig } from './backend-config';
import type { ApiConfig } from './config';
import type { SatelliteCallObserver } from './satellite/call-observer';
import type { SatelliteClient } from './satellite/client';
import { SwarmManagerProxy } from './satellite/swarm-manager-proxy';
import { SingleSatelliteDirectory, type SatelliteDirectory } from './satellite/directory';
import { SwarmSatelliteDirectory } from './satellite/swarm-directory';
import type { ReplicaContainerChanges } from './satellite/inspection-cache';

export interface SchedulerBackendParts {
  backend: SchedulerBackend;
  /** Warm capacity (BOATLOAD_WARM_POOL's classes, functions' own): this host's pool, or one per Swarm node. */
  warm: WarmCapacity | null;
  /** Where functions keep members of their own: the local pool, or the Swarm nodes' pools (spread over them). */
  dedicated: DedicatedPool | null;
  satellites: SatelliteDirectory;
  /** Waits (about 10 s at most) until the backend can work: the local satellite or the Swarm manager answers. */
  waitReady(closing: () => boolean): Promise<void>;
  close(): void;
}

export interface SchedulerBackendInput {
  config: Pick<ApiConfig, 'backend' | 'satellite' | 'containers' | 'limits' | 'warmPool'>;
  /** Whether a unit runs the container of this engine name (the warm pool keeps such members). */
  isTaken: (engineName: string) => Promise<boolean>;
  /** The client for SATELLITE_URL (the local backend's only satellite). */
  satellite: SatelliteClient;
  /** `key=value` carried by everything this installation creates. */
  instanceLabel: string;
  /** What placement sees (machines with metadata edits, units with their machines): read lazily. */
  placementContext: () => Promise<SwarmPlacementContext>;
  logger: Logger;
  /** Told of every call to a Swarm node's satellite (for metrics); optional. */
  satelliteObserver?: SatelliteCallObserver;
  /** The warm pool fills and hands out members only while this replica leads (default: always). */
  leadership?: Leadership;
  /** Other API replicas' writes to containers, for the Swarm nodes' satellite clients (`satellite` has them already). */
  replicas?: ReplicaContainerChanges;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function retry(closing: () => boolean, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50 && !closing(); i++) {
    try {
      if (await attempt()) return;
    } catch {
      // not yet
    }
    await pause(200);
  }
}

/** The one place that chooses a backend by its configured kind; everything else asks the scheduler. */
export function buildSchedulerBackend(input: SchedulerBackendInput): SchedulerBackendParts {
  const chosen = input.config.backend;
  return chosen.kind === 'swarm' ? swarmBackendParts(input, chosen) : localBackendParts(input);
}

function localBackendParts(input: SchedulerBackendInput): SchedulerBackendParts {
  const { config, satellite } = input;
  const { classes, minAvailableBytes } = config.warmPool;
  // Always there on this backend: functions keep warm capacity of their own in it (min_warm).
  const warm = new WarmPool(
    { agent: satellite, classes, minAvailableBytes, instanceLabel: input.instanceLabel, isTaken: input.isTaken, logger: input.logger.child('warm-pool'), leadership: input.leadership },
    { memoryBytes: config.containers.memoryBytes, nanoCpus: config.containers.nanoCpus, pidsLimit: config.containers.pidsLimit },
  );
  return {
    warm,
    dedicated: warm,
    backend: new LocalBackend({ agent: satellite, instanceLabel: input.instanceLabel, stopTimeoutSeconds: config.containers.stopTimeoutSeconds, warm }),
    satellites: new SingleSatelliteDirectory(satellite),
    // The satellite may be starting alongside us.
    waitReady: (closing) => retry(closing, async () => (await satellite.health(), true)),
    close: () => undefined,
  };
}

function swarmBackendParts(input: SchedulerBackendInput, swarm: Extract<BackendConfig, { kind: 'swarm' }>): SchedulerBackendParts {
  const { config } = input;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let proxy: SwarmManagerProxy | null = null;
  let connection: ReturnType<typeof dockerConnectionOf>;
  let managerName: string;
  if (swarm.manager.kind === 'satellite') {
    // No Docker socket in the API: the manager's satellite forwards the backend's calls.
    proxy = new SwarmManagerProxy({ url: swarm.manager.url, secret: config.satellite.secret, timeoutMs: config.satellite.timeoutMs, maxBodyBytes: config.limits.jsonBodyMaxBytes, logger: input.logger.child('manager') });
    connection = { socketPath: proxy.socketPath };
    managerName = `the satellite at ${swarm.manager.url}`;
  } else {
    connection = dockerConnectionOf(swarm.manager.dockerHost);
    managerName = swarm.manager.dockerHost;
  }
  // dockerode passes `agent` on to http.request (keep-alive, destroyed on close); its types omit it.
  const docker = new Docker({ ...connection, agent } as unknown as Docker.DockerOptions);
  const nodes = new SwarmNodes({ docker, maxAgeMs: 500 });
  const satellites = new SwarmSatelliteDirectory({
    nodes,
    port: swarm.satellitePort,
    secret: config.satellite.secret,
    timeoutMs: config.satellite.timeoutMs,
    refreshMs: 2000,
    logger: input.logger.child('satellites'),
    observer: input.satelliteObserver,
    replicas: input.replicas,
  });
  const backend = new SwarmBackend({
    docker,
    nodes,
    instanceLabel: input.instanceLabel,
    placementContext: input.placementContext,
    stopTimeoutSeconds: config.containers.stopTimeoutSeconds,
    restartDelayMs: swarm.restartDelayMs,
    logs: swarm.logs,
    taskWaitMs: swarm.taskWaitMs,
    logger: input.logger.child('swarm'),
  });
  const warm = swarmWarmParts(input, { swarm: backend, nodes, satellites });
  // While warm runs may join overlays no overlay is swept: a node that held a plain container on an
  // overlay keeps it on its engine after the removal and cannot join a new overlay of that name
  // (swarm-backend.ts). Without classes that is from the first function given warm capacity on.
  backend.holdOverlaysWhile(() => warm.pools.joinsOverlays());
  return {
    backend: warm.backend,
    // Always there on this backend too: functions keep warm capacity of their own in the nodes'
    // pools (min_warm), with or without BOATLOAD_WARM_POOL's classes.
    warm: warm.pools,
    dedicated: warm.pools,
    satellites,
    async waitReady(closing) {
      await retry(closing, async () => {
        const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
        if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
          input.logger.warn(`${managerName} is not a Swarm manager (state ${info.Swarm?.LocalNodeState ?? 'unknown'})`);
          return false;
        }
        await nodes.list(true);
        return true;
      });
      if (!closing()) satellites.start();
    },
    close() {
      satellites.close();
      agent.destroy();
      proxy?.close();
    },
  };
}

/**
 * A pool per node (swarm-warm.ts), keeping BOATLOAD_WARM_POOL's classes (if any) and functions' own
 * capacity, and the backend that runs fitting runs in them.
 */
function swarmWarmParts(
  input: SchedulerBackendInput,
  parts: { swarm: SwarmBackend; nodes: SwarmNodes; satellites: SwarmSatelliteDirectory },
): { pools: SwarmWarmPools; backend: SwarmWarmBackend } {
  const { config } = input;
  const agentFor = (machineId: string): SatelliteClient => parts.satellites.forMachine(machineId);
  const pools = new SwarmWarmPools({
    nodes: parts.nodes,
    agentFor,
    classes: config.warmPool.classes,
    defaults: { memoryBytes: config.containers.memoryBytes, nanoCpus: config.containers.nanoCpus, pidsLimit: config.containers.pidsLimit },
    instanceLabel: input.instanceLabel,
    isTaken: input.isTaken,
    minAvailableBytes: config.warmPool.minAvailableBytes,
    logger: input.logger.child('warm-pool'),
    leadership: input.leadership,
    overlays: parts.swarm.networks,
  });
  const backend = new SwarmWarmBackend({
    swarm: parts.swarm,
    pools,
    nodes: parts.nodes,
    agentFor,
    instanceLabel: input.instanceLabel,
    stopTimeoutSeconds: config.containers.stopTimeoutSeconds,
    logger: input.logger.child('swarm-warm'),
  });
  return { pools, backend };
}
