/**
 * The raw side: dockerode straight to the engine's socket, doing the same work BoatLoad asks the
 * engine for. Containers get exactly the create options BoatLoad's satellite would give them
 * (same resource limits, log driver settings and labels), built by the product's own
 * engineCreateOptions, plus a run label so that the bench can remove every one of them.
 */
import Docker from 'dockerode';
import { emptySpec } from '../common/container-spec';
import { engineCreateOptions } from '../satellite/engine-options';
import { HttpClient } from './http';
import { settleLimit } from './util';

export const RAW_RUN_LABEL = 'boatload.bench.run';
const ENGINE_API_VERSION = 'v1.41';

/** BoatLoad's defaults (api/config.ts, satellite/config.ts), so both sides run the same containers. */
export const DEFAULTS = { memoryBytes: 1024 * 1024 * 1024, nanoCpus: 1e9, pidsLimit: 512, logMaxSize: '256m', logMaxFiles: 2 };

export interface RawNetworks {
  shared: string;
  egress: string;
}

export class RawEngine {
  readonly docker = new Docker();
  /** Streams straight from the socket, as a client of the Engine API would read them. */
  readonly socket: HttpClient;
  private counter = 0;

  constructor(readonly runId: string, readonly image: string, readonly socketPath = '/var/run/docker.sock') {
    this.socket = new HttpClient({ socketPath });
  }

  apiPath(path: string): string {
    return `/${ENGINE_API_VERSION}${path}`;
  }

  createOptions(cmd: string[]): Docker.ContainerCreateOptions {
    const spec = emptySpec(`boatload-bench-${this.runId}-${++this.counter}`, this.image);
    spec.cmd = cmd;
    spec.labels = { [RAW_RUN_LABEL]: this.runId };
    spec.memoryBytes = DEFAULTS.memoryBytes;
    spec.nanoCpus = DEFAULTS.nanoCpus;
    spec.pidsLimit = DEFAULTS.pidsLimit;
    return engineCreateOptions(spec, { maxSize: DEFAULTS.logMaxSize, maxFiles: DEFAULTS.logMaxFiles });
  }

  create(cmd: string[]): Promise<Docker.Container> {
    return this.docker.createContainer(this.createOptions(cmd));
  }

  /**
   * Two bridges shaped like a BoatLoad user's (an internal one, and one with a way out), for the raw
   * side of a comparison on the same network work; `removeNetworks` deletes them.
   */
  async createNetworks(): Promise<RawNetworks> {
    const names = { shared: `boatload-bench-${this.runId}-net`, egress: `boatload-bench-${this.runId}-out` };
    for (const [role, name] of Object.entries(names)) {
      await this.docker.createNetwork({ Name: name, Driver: 'bridge', Internal: role === 'shared', CheckDuplicate: true, Labels: { [RAW_RUN_LABEL]: this.runId } });
    }
    return names;
  }

  async removeNetworks(networks: RawNetworks): Promise<void> {
    await settleLimit([networks.shared, networks.egress], 2, (name) => this.docker.getNetwork(name).remove());
  }

  /** As BoatLoad's satellite does for an `internet` container: created on the internal bridge, then joined to the egress one. */
  async createOnNetworks(cmd: string[], networks: RawNetworks): Promise<Docker.Container> {
    const options = this.createOptions(cmd);
    options.HostConfig = { ...options.HostConfig, NetworkMode: networks.shared };
    options.NetworkingConfig = { EndpointsConfig: { [networks.shared]: {} } };
    const container = await this.docker.createContainer(options);
    await this.docker.getNetwork(networks.egress).connect({ Container: container.id });
    return container;
  }

  async remove(container: Docker.Container | string): Promise<void> {
    const c = typeof container === 'string' ? this.docker.getContainer(container) : container;
    await c.remove({ force: true, v: true });
  }

  /** Removes every container of this run (also the ones a failed scenario left). */
  async removeAll(): Promise<number> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${RAW_RUN_LABEL}=${this.runId}`] } });
    await settleLimit(found, 8, (c) => this.remove(c.Id));
    return found.length;
  }

  close(): void {
    this.socket.close();
  }
}

/** The engine's logs (follow=false, so no hang) as text, demultiplexed. */
export async function rawLogsText(docker: Docker, id: string): Promise<string> {
  const buffer = await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false });
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + length).toString('utf8');
    offset += 8 + length;
  }
  return out;
}
