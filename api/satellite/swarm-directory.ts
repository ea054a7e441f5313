/**
 * Which satellite serves a machine of a Swarm: the satellite runs as a global service with its port
 * published on every node's own address (mode=host), so machine → Swarm node → http://<addr>:<port>.
 * The node listing is shared with the Swarm backend (which refreshes it on every look at the Swarm)
 * and refreshed here in the background too, so nodes that join or leave are picked up.
 */
import { ServiceUnavailableError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { describeNode, type SwarmNode, type SwarmNodes } from '../../units/scheduler/swarm-nodes';
import type { SatelliteCallObserver } from './call-observer';
import { SatelliteClient } from './client';
import type { SatelliteDirectory } from './directory';
import type { ReplicaContainerChanges } from './inspection-cache';

export interface SwarmSatelliteDirectoryOptions {
  nodes: SwarmNodes;
  /** The port every node's satellite publishes. */
  port: number;
  secret: string;
  timeoutMs: number;
  /** How often the node listing is refreshed in the background (ms). */
  refreshMs: number;
  logger: Logger;
  /** Told of every call to a node's satellite (for metrics); optional. */
  observer?: SatelliteCallObserver;
  /** The other API replicas' writes to containers (every node's client drops their inspections, and tells them its own); absent with one API process. */
  replicas?: ReplicaContainerChanges;
}

export class SwarmSatelliteDirectory implements SatelliteDirectory {
  private readonly clients = new Map<string, SatelliteClient>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SwarmSatelliteDirectoryOptions) {}

  /** Keeps the node listing current until close(). */
  start(): void {
    if (this.timer) return;
    const refresh = (): void => {
      this.options.nodes.list().catch((err: Error) => this.options.logger.debug(`node listing: ${err.message}`));
    };
    refresh();
    this.timer = setInterval(refresh, this.options.refreshMs);
    this.timer.unref();
  }

  private clientFor(node: SwarmNode): SatelliteClient {
    const url = `http://${node.addr.includes(':') ? `[${node.addr}]` : node.addr}:${this.options.port}`;
    const key = `${node.machineId} ${url}`;
    let client = this.clients.get(key);
    if (!client) {
      // A node that changed its address gets a new client; the old one is closed.
      for (const [oldKey, old] of this.clients) {
        if (oldKey.startsWith(`${node.machineId} `)) {
          old.close();
          this.clients.delete(oldKey);
        }
      }
      client = new SatelliteClient({ url, secret: this.options.secret, timeoutMs: this.options.timeoutMs, label: `${describeNode(node)} at ${url}`, observer: this.options.observer, replicas: this.options.replicas });
      this.clients.set(key, client);
    }
    return client;
  }

  forMachine(machineId: string | null): SatelliteClient {
    if (machineId === null) throw new ServiceUnavailableError('The container has not been placed on any node yet.');
    const node = this.options.nodes.byMachineId(machineId);
    if (!node) throw new ServiceUnavailableError(`Machine ${machineId} is not a node of the Swarm (any more).`);
    return this.clientFor(node);
  }

  /** The satellites of the nodes that are up (a node that is down is not a satellite failure). */
  all(): SatelliteClient[] {
    return this.options.nodes
      .cached()
      .filter((node) => node.state === 'ready')
      .map((node) => this.clientFor(node));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
