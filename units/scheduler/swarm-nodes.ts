/**
 * The nodes of a Docker Swarm as BoatLoad sees them: each node is a machine whose fleet-style id is
 * 32 hex characters derived from the Swarm node id, whose metadata are the node's labels, and whose
 * address is where its satellite answers. One cached listing serves the Swarm backend (placement,
 * observations) and the satellite directory (which satellite serves a machine).
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import type { Machine } from '../placement';

/** fleet machine ids are 32 hex characters; Swarm node ids are 25 base-36 ones. */
export function machineIdOfNode(nodeId: string): string {
  return createHash('sha256').update(`swarm-node:${nodeId}`).digest('hex').slice(0, 32);
}

export interface SwarmNode {
  nodeId: string;
  machineId: string;
  hostname: string;
  /** The node's address as the managers see it (its advertise address). */
  addr: string;
  /** Swarm's view: ready, down, unknown, disconnected. */
  state: string;
  /** active, pause, drain. */
  availability: string;
  role: string;
  labels: Record<string, string>;
}

/** The subset of the Engine API's Node object read here. */
interface EngineNode {
  ID: string;
  Spec?: { Labels?: Record<string, string>; Role?: string; Availability?: string };
  Description?: { Hostname?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string };
}

export function swarmNodeOf(node: EngineNode): SwarmNode {
  let addr = node.Status?.Addr ?? '';
  // Docker quirk: a manager may report Status.Addr 0.0.0.0 (advertised on every interface); its
  // ManagerStatus.Addr (ip:port) has the real address.
  if ((addr === '' || addr === '0.0.0.0') && node.ManagerStatus?.Addr) addr = node.ManagerStatus.Addr.replace(/:\d+$/, '');
  return {
    nodeId: node.ID,
    machineId: machineIdOfNode(node.ID),
    hostname: node.Description?.Hostname ?? node.ID,
    addr,
    state: node.Status?.State ?? 'unknown',
    availability: node.Spec?.Availability ?? 'active',
    role: node.Spec?.Role ?? 'worker',
    labels: { ...(node.Spec?.Labels ?? {}) },
  };
}

/** Whether Swarm may run new tasks there. */
export const isSchedulable = (node: SwarmNode): boolean => node.state === 'ready' && node.availability === 'active';

export function machineOfNode(node: SwarmNode): Machine {
  return { id: node.machineId, primaryIP: node.addr, metadata: { ...node.labels } };
}

/** "blc-n2 (machine 1f0c…)" — how errors name a node. */
export function describeNode(node: Pick<SwarmNode, 'hostname' | 'machineId'>): string {
  return `node ${node.hostname} (machine ${node.machineId})`;
}

export interface SwarmNodesOptions {
  docker: Docker;
  /** How long a listing is reused (ms). */
  maxAgeMs: number;
}

/** The Swarm's nodes, listed from a manager at most once per maxAgeMs; every node ever seen is remembered. */
export class SwarmNodes {
  private current: SwarmNode[] = [];
  private readonly known = new Map<string, SwarmNode>();
  private fetchedAt = 0;
  private inflight: Promise<SwarmNode[]> | null = null;

  constructor(private readonly options: SwarmNodesOptions) {}

  /** Every node of the Swarm, whatever its state, sorted by hostname. */
  async list(fresh = false): Promise<SwarmNode[]> {
    if (!fresh && Date.now() - this.fetchedAt < this.options.maxAgeMs) return this.current;
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const nodes = ((await this.options.docker.listNodes()) as EngineNode[]).map(swarmNodeOf);
          nodes.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.nodeId < b.nodeId ? -1 : 1));
          this.current = nodes;
          this.fetchedAt = Date.now();
          for (const node of nodes) this.known.set(node.machineId, node);
          return nodes;
        } finally {
          this.inflight = null;
        }
      })();
    }
    return this.inflight;
  }

  /** The last listing, without asking the manager. */
  cached(): SwarmNode[] {
    return this.current;
  }

  /** A node by machine id, from the last listing or any earlier one (a node that left is remembered). */
  byMachineId(machineId: string): SwarmNode | undefined {
    return this.current.find((node) => node.machineId === machineId) ?? this.known.get(machineId);
  }

  byNodeId(nodeId: string): SwarmNode | undefined {
    return this.current.find((node) => node.nodeId === nodeId) ?? this.known.get(machineIdOfNode(nodeId));
  }
}
