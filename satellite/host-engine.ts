/**
 * All host-local work on this host's Docker Engine: create (with the script and data staged into
 * the container before it starts), start, stop, remove, inspect, list, logs, metrics and files.
 */
import type Docker from 'dockerode';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { AddressPolicy } from '../common/address-policy';
import { downloadToFile } from '../common/bounded-fetch';
import { ValidationError } from '../common/errors';
import { userNetworkNames } from '../common/network-model';
import type { Logger } from '../common/logger';
import type {
  ContainerInspection,
  ContainerSummary,
  CreateContainerRequest,
  DataStaging,
  DockerState,
  ScriptStaging,
} from '../common/satellite-protocol';
import { STDIN_PATH } from '../common/satellite-protocol';
import { publishedPortsOf, type PortBinding } from '../common/published-ports';
import { packDataArchive } from './data-archive';
import { engineCreateOptions, type LogLimits } from './engine-options';
import { engineError, engineMessage, isEngineNotFound } from './engine-errors';
import { dialLogs, followFromStart } from './engine-logs';
import { LogDemuxer, type LogStreamName } from './log-demux';
import { ScriptFiles, withStdin } from './script-files';
import type { NetworkPlan, UserNetworks } from './user-networks';
import { advertisedAddress } from './machine';

export interface HostEngineOptions {
  docker: Docker;
  logger: Logger;
  logLimits: LogLimits;
  data: { maxBytes: number; maxEntries: number; maxRatio: number; downloadTimeoutMs: number; addresses: AddressPolicy };
  /** The machine's advertised address: where published ports bound on every address are reached. */
  advertisedIp?: string;
  /** Where scripts are staged as bind-mounted host files; without it they are copied into each container. */
  scripts?: ScriptFiles;
  /** Users' networks and the packet filter over them; without it a spec naming one is refused. */
  networks?: UserNetworks;
}

export interface LogRequest {
  streams: ReadonlySet<LogStreamName>;
  follow: boolean;
  tail?: number;
}

function toDockerState(state: Docker.ContainerInspectInfo['State']): DockerState {
  return {
    Paused: state.Paused,
    FinishedAt: state.FinishedAt,
    StartedAt: state.StartedAt,
    Restarting: state.Restarting,
    Dead: state.Dead,
    ExitCode: state.ExitCode,
    Error: state.Error,
    OOMKilled: state.OOMKilled,
    Pid: state.Pid,
    Running: state.Running,
    Status: state.Status,
  };
}

/** Docker quirk: the list call has no exit code, only a sentence like "Exited (137) 2 seconds ago". */
function exitCodeFromStatus(status: string): number | undefined {
  const match = /^Exited \((-?\d+)\)/.exec(status);
  return match ? Number(match[1]) : undefined;
}

/** inspect's NetworkSettings.Ports: `{"8080/tcp": [{HostIp, HostPort}]}` (null for an unpublished port). */
function inspectBindings(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined): PortBinding[] {
  const bindings: PortBinding[] = [];
  for (const [key, hosts] of Object.entries(ports ?? {})) {
    const [port, protocol] = key.split('/');
    for (const host of hosts ?? []) bindings.push({ port: Number(port), protocol: protocol ?? 'tcp', ip: host.HostIp, hostPort: Number(host.HostPort) });
  }
  return bindings;
}

export class HostEngine {
  private readonly advertisedIp: string;

  constructor(private readonly options: HostEngineOptions) {
    this.advertisedIp = options.advertisedIp ?? advertisedAddress(undefined);
  }

  get docker(): Docker {
    return this.options.docker;
  }

  container(name: string): Docker.Container {
    return this.options.docker.getContainer(name);
  }

  async ping(): Promise<void> {
    try {
      await this.options.docker.ping();
    } catch (err) {
      throw engineError(err, 'ping');
    }
  }

  /**
   * Creates the container and stages its files (not started); answers its inspection. A container
   * on its user's network gets the network first (created on demand, with its rules) and leaves
   * nothing behind when the create fails.
   */
  async create(request: CreateContainerRequest): Promise<ContainerInspection> {
    const networks = this.options.networks;
    const plan = networks?.planFor(request.spec) ?? null;
    if (!networks || !plan) {
      if (request.spec.network !== undefined && /^boatload-net-/.test(request.spec.network)) {
        throw ValidationError.field('network', 'Users\' networks are not available on this host.');
      }
      return this.createContainer(request, null);
    }
    return networks.withLock(plan.names, async () => {
      await networks.ensure(plan, request.spec.labels);
      try {
        return await this.createContainer(request, plan);
      } catch (err) {
        await networks.release(plan.names).catch((e: Error) => this.options.logger.warn(`network cleanup failed: ${e.message}`));
        throw err;
      }
    });
  }

  private async createContainer(request: CreateContainerRequest, plan: NetworkPlan | null): Promise<ContainerInspection> {
    const { spec } = request;
    const createOptions = engineCreateOptions(spec, this.options.logLimits);
    if (plan && this.options.networks) createOptions.NetworkingConfig = this.options.networks.endpointConfig(plan);
    const scripts = request.script && ScriptFiles.canStage(spec.name) ? this.options.scripts : undefined;
    if (scripts && request.script) {
      const mounts = [await scripts.stage(spec.name, request.script)];
      if (request.script.stdinBase64 !== undefined) mounts.push(await scripts.stageStdin(spec.name, request.script.stdinBase64));
      createOptions.HostConfig = { ...createOptions.HostConfig, Mounts: [...(createOptions.HostConfig?.Mounts ?? []), ...mounts] };
    }
    if (request.script?.stdinBase64 !== undefined) createOptions.Cmd = withStdin(createOptions.Cmd ?? []);
    let container: Docker.Container;
    try {
      container = await this.options.docker.createContainer(createOptions);
    } catch (err) {
      // A name already taken is a container of that name (which may be using that script): keep it.
      if (scripts && (err as { statusCode?: number }).statusCode !== 409) await scripts.remove(spec.name);
      // Docker quirk: create never pulls; it answers 404 "No such image" for an image the host
      // lacks (checked here rather than by an image inspect before every create).
      if (isEngineNotFound(err) && /no such image/i.test(engineMessage(err))) {
        throw ValidationError.field('image_name', `Image "${spec.image}" is not present on this host and cannot be pulled (no registry).`);
      }
      const e = engineError(err, 'container create');
      // The engine says 400 for bad options (e.g. an invalid port); that is the caller's input.
      if ((err as { statusCode?: number }).statusCode === 400) throw ValidationError.field('non_field_errors', e.message);
      throw e;
    }
    try {
      if (plan) await this.options.networks?.attachEgress(plan, container.id);
      if (request.script && !scripts) await this.stageScript(container, request.script);
      if (request.data) await this.stageData(container, request.data);
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      await scripts?.remove(spec.name);
      throw err;
    }
    return this.inspect(container.id);
  }

  private async stageScript(container: Docker.Container, script: ScriptStaging): Promise<void> {
    const pack = tar.pack();
    const dir = posix.dirname(script.path).replace(/^\/+/, '');
    pack.entry({ name: dir, type: 'directory', mode: 0o755 });
    pack.entry({ name: script.path.replace(/^\/+/, ''), mode: 0o755 }, Buffer.from(script.contentBase64, 'base64'));
    if (script.stdinBase64 !== undefined) pack.entry({ name: STDIN_PATH.replace(/^\/+/, ''), mode: 0o444 }, Buffer.from(script.stdinBase64, 'base64'));
    pack.finalize();
    await this.putArchive(container, Readable.from(pack));
  }

  private async stageData(container: Docker.Container, data: DataStaging): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'boatload-data-'));
    try {
      const file = join(dir, 'download');
      const limits = this.options.data;
      await downloadToFile({ url: data.url, field: 'dataurl', file, maxBytes: limits.maxBytes, timeoutMs: limits.downloadTimeoutMs, addresses: limits.addresses });
      const pack = tar.pack();
      // Validate and pack concurrently with the upload; a refused entry aborts both.
      const packed = packDataArchive(
        { file, url: data.url, datapath: data.path, limits: { maxBytes: limits.maxBytes, maxEntries: limits.maxEntries, maxRatio: limits.maxRatio } },
        pack,
      );
      // tar-stream's pack is a streamx stream: iterate it (piping it into a socket crawls).
      const uploaded = this.putArchive(container, Readable.from(pack));
      try {
        await packed;
      } catch (err) {
        pack.destroy();
        await uploaded.catch(() => undefined);
        throw err;
      }
      await uploaded;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async putArchive(container: Docker.Container, archive: Readable): Promise<void> {
    try {
      await container.putArchive(archive, { path: '/' });
    } catch (err) {
      throw engineError(err, 'staging files into the container');
    }
  }

  /** Starts the container (already running is fine) and answers its inspection. */
  async start(name: string): Promise<ContainerInspection> {
    try {
      await this.container(name).start();
    } catch (err) {
      // 304: already started.
      if ((err as { statusCode?: number }).statusCode !== 304) throw engineError(err, `container ${name}`);
    }
    const info = await this.engineInspect(name);
    const inspection = this.inspectionOf(info);
    // Its host ports are chosen now: the owner's other containers may reach them through the host
    // (a rule per port added, not every rule rebuilt).
    const ports = inspection.ports ?? [];
    if (this.options.networks && ports.length > 0) await this.options.networks.addOwnPorts(info.HostConfig.NetworkMode ?? '', ports);
    return inspection;
  }

  async stop(name: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.container(name).stop({ t: timeoutSeconds });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 304) return;
      throw engineError(err, `container ${name}`);
    }
  }

  /**
   * Removes the container; a container that is already gone is not an error. The user's networks
   * go with their last container (after the grace period, UserNetworks.release).
   */
  async remove(name: string): Promise<void> {
    const info = await this.container(name).inspect().catch(() => null);
    await this.removeContainer(name);
    const networks = this.options.networks;
    // A taken warm member's NetworkMode still names the holding network: its endpoints say the rest.
    const joined = Object.keys(info?.NetworkSettings?.Networks ?? {}).map((name) => userNetworkNames(name)).find((n) => n !== null);
    const names = userNetworkNames(info?.HostConfig.NetworkMode ?? '') ?? joined ?? null;
    if (networks && names) await networks.withLock(names, () => networks.release(names));
    // Its host ports are free for anyone's container now: the owner's rule for them goes.
    const published = Object.values(info?.NetworkSettings?.Ports ?? {}).some((bindings) => (bindings?.length ?? 0) > 0);
    if (networks && published) await networks.reconcile();
  }

  private async removeContainer(name: string): Promise<void> {
    try {
      await this.container(name).remove({ force: true, v: true });
      await this.options.scripts?.remove(name);
    } catch (err) {
      if (isEngineNotFound(err)) return void (await this.options.scripts?.remove(name));
      // 409: removal already in progress (AutoRemove raced us); the engine will finish it.
      if ((err as { statusCode?: number }).statusCode === 409) return;
      throw engineError(err, `container ${name}`);
    }
  }

  /** Removes users' networks that no container uses any more (their containers removed behind the satellite's back). */
  async sweepNetworks(): Promise<void> {
    const networks = this.options.networks;
    if (!networks) return;
    for (const names of await networks.userNetworks(60_000)) {
      // Its timer removes it when the grace period ends (unless a create comes first).
      if (networks.inGrace(names)) continue;
      await networks.withLock(names, () => networks.releaseIfUnused(names));
    }
    // Rules rebuilt too: they heal if the host's firewall was reloaded under them.
    await networks.reconcile();
  }

  /** Removes staged scripts whose container is gone (removed behind the satellite's back). */
  async sweepScripts(): Promise<number> {
    if (!this.options.scripts) return 0;
    const containers = await this.options.docker.listContainers({ all: true });
    return this.options.scripts.sweep(new Set(containers.flatMap((c) => c.Names.map((n) => n.replace(/^\//, '')))));
  }

  async inspect(name: string): Promise<ContainerInspection> {
    return this.inspectionOf(await this.engineInspect(name));
  }

  private async engineInspect(name: string): Promise<Docker.ContainerInspectInfo> {
    try {
      return await this.container(name).inspect();
    } catch (err) {
      throw engineError(err, `container ${name}`);
    }
  }

  private inspectionOf(info: Docker.ContainerInspectInfo): ContainerInspection {
    return {
      engineId: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      created: info.Created,
      labels: info.Config.Labels ?? {},
      state: toDockerState(info.State),
      ports: publishedPortsOf(inspectBindings(info.NetworkSettings?.Ports), this.advertisedIp),
      env: info.Config.Env ?? [],
    };
  }

  async list(labelFilters: string[]): Promise<ContainerSummary[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.options.docker.listContainers({ all: true, filters: { label: labelFilters } });
    } catch (err) {
      throw engineError(err, 'container list');
    }
    return containers.map((c) => ({
      engineId: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels,
      state: c.State,
      exitCode: exitCodeFromStatus(c.Status),
      ports: publishedPortsOf(
        (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => ({ port: p.PrivatePort, protocol: p.Type, ip: p.IP ?? '', hostPort: p.PublicPort })),
        this.advertisedIp,
      ),
    }));
  }

  /** The container's output, demultiplexed, as a stream with back-pressure. */
  /** A container's output, demultiplexed; a follow opened before the start waits for it (followFromStart). */
  async logs(name: string, request: LogRequest): Promise<Readable> {
    const dial = async (): Promise<Readable> => {
      const raw = await dialLogs(this.docker, name, {
        stdout: request.streams.has('stdout'),
        stderr: request.streams.has('stderr'),
        follow: request.follow,
        tail: request.tail === undefined ? 'all' : String(request.tail),
      });
      const demuxer = new LogDemuxer(request.streams);
      raw.on('error', (err) => demuxer.destroy(err));
      demuxer.on('close', () => raw.destroy());
      return raw.pipe(demuxer);
    };
    return request.follow ? followFromStart(this.docker, name, dial) : dial();
  }
}
