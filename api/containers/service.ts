/**
 * The container service: BoatLoad's /v1/container/ contract on top of the scheduler (which runs
 * the container's unit) and the satellites (which serve the host-local reads, streamed).
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { AddressPolicy } from '../../common/address-policy';
import { downloadToBuffer } from '../../common/bounded-fetch';
import { emptySpec, type ContainerSpec, type VolumeMount } from '../../common/container-spec';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors';
import { SCRIPT_DIR, type ChangeEntry, type ContainerMetrics, type DockerState, type FileEntry } from '../../common/satellite-protocol';
import { renderContainerUnit, UnitSpecError } from '../../units/container-unit';
import type { UnitRecord } from '../../units/scheduler/model';
import { newUnitRecord, type Scheduler } from '../../units/scheduler/scheduler';
import { systemdStateOf } from '../../units/scheduler/unit-status';
import type { WarmReservation } from '../../units/scheduler/warm-capacity';
import { unitHash } from '../../units/unit-file';
import type { LogQuery, StreamedResponse } from '../satellite/client';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRecord, ContainerRepository } from '../store/containers';
import { OVER_LIMIT } from '../store/over-limit';
import type { SnapshotCommand } from '../snapshots/service';
import type { User } from '../store/users';
import { checkScript, type CreateContainerInput } from './create-request';
import { LABELS } from '../../common/labels';
import { userNetworkName } from '../../common/network-model';
import type { ListingCache } from './listing-cache';
import type { ContainerLocator, OwnedRecord } from './locator';
import { countQuotaExceeded, type QuotaService } from '../quotas/service';
import { containerSummaryView, containerView, portViews, type ContainerSummaryView, type ContainerView, type PortView } from './view';
import type { ContainerReferences } from './references';

export interface ContainerServiceOptions {
  containers: ContainerRepository;
  scheduler: Scheduler;
  satellites: SatelliteDirectory;
  /** Ownership and where each container is now. */
  locator: ContainerLocator;
  /** This installation's id, carried as a label by every container it creates. */
  instanceId: string;
  scriptMaxBytes: number;
  downloadTimeoutMs: number;
  downloadAddresses: AddressPolicy;
  defaultImage: string;
  resources: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number };
  /** BOATLOAD_CONTAINER_TTL_SECONDS: the lifetime of one-shot containers that ask for none (null: none). */
  defaultOneShotTtlSeconds: number | null;
  /**
   * Resolves a request's snapshot and volumes (ownership-checked) into the image to run, the
   * engine mounts and the machine they live on. Without it, requests with either are refused.
   */
  attachments?: (owner: User, input: CreateContainerInput) => Promise<CreateAttachments>;
  /** Serialized listings, kept until the store changes. */
  listings: ListingCache;
  /** Each owner's container quota (checked again in the insert's transaction). */
  quotas: QuotaService;
  /**
   * Whether containers join their owner's network (the satellite's bridges on the local backend,
   * the manager's overlays on swarm); false: only `internet`, on the engine's default network.
   */
  userNetworks?: boolean;
  /** Resolves `links` and env templates (`#<id>.port`) to where the targets are reached now. */
  references: ContainerReferences;
  /** Warm capacity (BOATLOAD_WARM_POOL): a script run whose container fits takes a pooled one's id. */
  warm?: { reserve(spec: ContainerSpec, reservation?: WarmReservation): string | null; release(id: string): void };
  /** Whether the backend stages a run's standard input (stored with its record); without it (swarm, for now) runs have none. */
  stagesStdin?: boolean;
}

/** What only the API's own services add to a create (never a request body). */
export interface CreateOptions {
  /** A dedicated warm pool (a function's capacity) to take a member from before the shared ones. */
  warmTag?: string;
  /** The run's result is read once with this output cap (a function invocation's): a warm member reports it. */
  report?: { maxOutputBytes: number };
  /** The run's standard input, base64 (a script run's; the backend must stage it: stagesStdin). */
  stdinBase64?: string;
  /** The container idles (its script staged, not run) until something is exec'ed in it: a reused function's. */
  idle?: boolean;
}

/** An idle container's command: waits for execs, and ends at once on the engine's stop. */
const IDLE_COMMAND = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];

/** What a create request's snapshot and volumes mean on the engine. */
export interface CreateAttachments {
  image: string;
  volumes: Array<VolumeMount & { volumeId: string }>;
  /** Pins the unit where the snapshot image or the volumes are. */
  machineId?: string;
  /** The snapshot's command, which a request without a script of its own inherits. */
  command?: SnapshotCommand;
}

export interface ContainerState {
  fleet_state: { name: string; loadState: string; activeState: string; subState: string };
  docker_state: DockerState | Record<string, never>;
  status: ContainerView['status'];
  reason: string | null;
  /** The machine that holds the container now (null before it is placed). */
  node: string | null;
  /** Other copies that may still run (a machine cut off keeps its copy until it reconnects). */
  copies?: string[];
  /** When the reaper removes it (ISO 8601 UTC); null: never. */
  expires_at: string | null;
  hostname: string | null;
  network: ContainerView['network'];
  /** Each exposed port and where it is reached now. */
  ports: PortView[];
}

/**
 * A request from a snapshot without a script of its own runs the snapshot's command: its script
 * (staged again at its path: the engine commit did not capture it) and its arguments, unless the
 * request gives arguments of its own.
 */
function inheritCommand(input: CreateContainerInput, command: SnapshotCommand): CreateContainerInput {
  const args = input.args.length > 0 ? input.args : command.args;
  if (command.script === null || command.scriptname === null) return { ...input, args };
  return { ...input, script: command.script, scriptname: command.scriptname, args };
}

/** Engine container name for a BoatLoad container id. */
export const engineNameOf = (id: string): string => `boatload-${id}`;
/** Unit name for a BoatLoad container id. */
export const unitNameOf = (id: string): string => `${id}.service`;

export class ContainerService {
  constructor(private readonly options: ContainerServiceOptions) {}

  async list(user: User): Promise<ContainerSummaryView[]> {
    return (await this.options.containers.listWithUnits(user.isAdmin ? undefined : user.username)).map(containerSummaryView);
  }

  /** The listing as JSON text (what GET /v1/container/ sends), rendered once per store change. */
  listJson(user: User): Promise<Buffer> {
    return this.options.listings.get(user.isAdmin ? '*' : `user:${user.username}`, async () => JSON.stringify(await this.list(user)));
  }

  private owned(user: User, id: string): Promise<OwnedRecord> {
    return this.options.locator.owned(user, id);
  }

  async get(user: User, id: string): Promise<ContainerView> {
    const { record, unit } = await this.owned(user, id);
    return containerView(record, unit);
  }

  /**
   * The engine spec a warm member must have for `input` to run in it (what a create would make, but
   * for name, command, variables and labels), or null when such a request never runs warm.
   */
  warmTemplate(owner: string, input: CreateContainerInput): ContainerSpec | null {
    if (input.script === null || input.scripturl || input.dataurl || Object.keys(input.links).length > 0 || input.snapshot || input.volumes.length > 0 || input.ports.length > 0) return null;
    // Members belong to nobody until taken: a `private` or `internet` one waits on the holding
    // network and joins its owner's at the take (satellite/warm-networks.ts). A hostname is fixed
    // when the container is created, so a run that names one is cold.
    if (this.options.userNetworks === true ? input.hostname !== null : input.network !== 'internet') return null;
    return this.specFor(randomBytes(16).toString('hex'), owner, input, true);
  }

  async create(owner: User, request: CreateContainerInput, extra: CreateOptions = {}): Promise<ContainerView> {
    // Early, before any download: the count that decides is taken again where the record is inserted.
    const limit = await this.options.quotas.ensureRoom(owner.username, 'containers');
    let script = request.script;
    if (request.scripturl) {
      script = await downloadToBuffer({ url: request.scripturl, field: 'scripturl', maxBytes: this.options.scriptMaxBytes, timeoutMs: this.options.downloadTimeoutMs, addresses: this.options.downloadAddresses });
      checkScript(script, this.options.scriptMaxBytes, 'scripturl');
    }
    const attached = await this.attachmentsFor(owner, request);
    const input = script === null && attached.command ? inheritCommand(request, attached.command) : request;
    if (script === null) script = input.script;
    await this.ensureHostPortsFree(input);
    let id = randomBytes(16).toString('hex');
    // The engine publishes ports only on a network with a way out (not on internal networks or none).
    if (input.ports.length > 0 && input.network !== 'internet') {
      throw ValidationError.field('ports', `Ports are published only for network "internet"; this container's network is "${input.network}".`);
    }
    if (this.options.userNetworks !== true && input.network !== 'internet') {
      throw ValidationError.field('network', `The network mode "${input.network}" is not available with this installation's backend (only internet).`);
    }
    if (extra.stdinBase64 !== undefined && (script === null || this.options.stagesStdin !== true)) {
      throw ValidationError.field('stdin', script === null ? 'Standard input is for script runs.' : "Standard input is not available with this installation's backend.");
    }
    const spec = this.specFor(id, owner.username, input, script !== null);
    if (extra.idle) spec.cmd = IDLE_COMMAND;
    const resolved = await this.options.references.resolve(owner, { env: input.env, links: input.links, self: new Set([id]), containerName: spec.name });
    spec.env = resolved.env;
    // The link alias resolves in /etc/hosts to the address its variables carry (the target's
    // machine, where its ports are published): unlike the engine's --link alias this works for a
    // target on another machine and under Swarm (whose services cannot be linked), and follows a
    // target that moved when the container is built again (workloads.ts).
    if (resolved.hosts.length > 0) spec.extraHosts = resolved.hosts;
    spec.image = attached.image;
    spec.volumes = attached.volumes.map(({ source, target, readonly }) => ({ source, target, readonly }));
    // A script run that fits a warm pool runs in a reserved member, under that member's id.
    const warmId = script !== null && !extra.idle && !input.dataurl && Object.keys(input.links).length === 0 ? (this.options.warm?.reserve(spec, { tag: extra.warmTag, report: extra.report }) ?? null) : null;
    if (warmId) {
      id = warmId;
      spec.name = engineNameOf(id);
      spec.labels[LABELS.container] = id;
    }
    let options;
    try {
      options = renderContainerUnit({ spec, description: `BoatLoad container ${id} of ${owner.username}`, machineId: attached.machineId });
    } catch (err) {
      if (warmId) this.options.warm?.release(warmId);
      if (err instanceof UnitSpecError) throw ValidationError.field('non_field_errors', `The container cannot be expressed as a unit: ${err.message}`);
      throw err;
    }
    const unitName = unitNameOf(id);
    const ttl = this.lifetimeOf(input);
    // The record and its unit land in one transaction (a crash never leaves one without the other).
    const record = await this.options.containers.insertWithinLimit({
      record: {
        id,
        owner: owner.username,
        image: attached.image,
        unitName,
        request: {
          image_name: input.imageName,
          image_tag: input.imageTag,
          scriptname: script ? input.scriptname : null,
          scripturl: input.scripturl,
          dataurl: input.dataurl,
          datapath: input.datapath,
          container_args: input.args,
          env: input.env,
          permanent: input.permanent,
          snapshot: input.snapshot,
          volumes: attached.volumes.map((v) => ({ volume: v.volumeId, path: v.target, readonly: v.readonly })),
          ttl,
          hostname: input.hostname,
          network: input.network,
          ports: input.ports.map(({ port, protocol, hostPort }) => (hostPort === undefined ? { port, protocol } : { port, protocol, host_port: hostPort })),
          links: input.links,
        },
      },
      script,
      limit,
      ttlSeconds: ttl,
      // With the record, before the unit converges: whatever replica starts it stages the input with the script.
      stdin: extra.stdinBase64 === undefined ? null : Buffer.from(extra.stdinBase64, 'base64'),
      unit: newUnitRecord({ name: unitName, options, hash: unitHash(options), desiredState: 'launched', engineName: spec.name, containerId: id }),
    });
    if (record === OVER_LIMIT) {
      if (warmId) this.options.warm?.release(warmId);
      throw countQuotaExceeded('containers', limit);
    }
    const scheduler = this.options.scheduler;
    // A warm member exists and waits already: the start (the take, or a cold create if it fails)
    // happens in the background, while the caller's first read is on its way.
    if (warmId) {
      scheduler.convergeLater(unitName);
      return containerView(record, (await scheduler.get(unitName)) as UnitRecord);
    }
    try {
      // Creation errors (unknown image, a bad data archive) answer this request; the start
      // happens in the background: created is not ready.
      await scheduler.converge(unitName, 'created');
    } catch (err) {
      await scheduler.destroy(unitName).catch(() => undefined);
      await this.options.containers.delete(id);
      throw err;
    }
    scheduler.convergeLater(unitName);
    return containerView(record, (await scheduler.get(unitName)) as UnitRecord);
  }

  /**
   * A fixed host port another container of this installation asked for is a 409 (it is taken until
   * that container is deleted). A port some other program holds is found only when the engine
   * starts the container: that start fails and the container shows the engine's reason.
   */
  private async ensureHostPortsFree(input: CreateContainerInput): Promise<void> {
    const fixed = input.ports.filter((p) => p.hostPort !== undefined);
    if (fixed.length === 0) return;
    for (const record of await this.options.containers.list()) {
      for (const taken of record.request.ports ?? []) {
        const clash = fixed.find((p) => p.hostPort === taken.host_port && p.protocol === taken.protocol);
        if (clash) throw new ConflictError(`ports: host port ${clash.hostPort}/${clash.protocol} is taken by another container.`);
      }
    }
  }

  /** Seconds the container lives: what it asked for (0: none), else the one-shot default; permanent ones get none unless asked. */
  private lifetimeOf(input: CreateContainerInput): number | null {
    if (input.ttlSeconds !== null) return input.ttlSeconds === 0 ? null : input.ttlSeconds;
    return input.permanent ? null : this.options.defaultOneShotTtlSeconds;
  }

  private async attachmentsFor(owner: User, input: CreateContainerInput): Promise<CreateAttachments> {
    if (this.options.attachments) return this.options.attachments(owner, input);
    if (input.snapshot) throw ValidationError.field('snapshot', 'Snapshots are not available.');
    if (input.volumes.length) throw ValidationError.field('volumes', 'Volumes are not available.');
    return { image: input.image, volumes: [] };
  }

  private specFor(id: string, owner: string, input: CreateContainerInput, hasScript: boolean): ContainerSpec {
    const spec = emptySpec(engineNameOf(id), input.image);
    const scriptPath = posix.join(SCRIPT_DIR, input.scriptname);
    spec.cmd = hasScript ? [scriptPath, ...input.args] : input.args.length ? input.args : undefined;
    spec.env = { ...input.env };
    spec.labels = { [LABELS.container]: id, [LABELS.owner]: owner, [LABELS.instance]: this.options.instanceId };
    spec.restart = input.permanent ? 'always' : 'no';
    // What the request asked for (already checked against the maxima), else the defaults.
    spec.memoryBytes = input.resources.memoryBytes ?? this.options.resources.memoryBytes;
    spec.nanoCpus = input.resources.nanoCpus ?? this.options.resources.nanoCpus;
    spec.pidsLimit = input.resources.pidsLimit ?? this.options.resources.pidsLimit;
    // A label, not a docker run flag: the unit grammar stays as operators know it; the satellite sets it.
    if (input.hostname !== null) spec.labels[LABELS.hostname] = input.hostname;
    if (this.options.userNetworks === true) {
      // The satellite creates the owner's networks and their rules from these (satellite/user-networks.ts).
      spec.labels[LABELS.network] = input.network;
      spec.network = input.network === 'none' ? 'none' : userNetworkName(this.options.instanceId, owner);
    }
    spec.ports = input.ports.map(({ port, protocol, hostPort }) => (hostPort === undefined ? { containerPort: port, protocol } : { containerPort: port, protocol, hostPort }));
    return spec;
  }

  async delete(user: User, id: string): Promise<void> {
    const { record } = await this.owned(user, id);
    await this.remove(record);
  }

  async deleteOwnedBy(username: string): Promise<void> {
    for (const record of await this.options.containers.list(username)) await this.remove(record);
  }

  /**
   * Removes a container whose lifetime ended, as a DELETE would. Answers false when it is gone
   * already (deleted meanwhile) or no longer expired.
   */
  async expire(record: ContainerRecord, now: Date): Promise<boolean> {
    const current = await this.options.containers.find(record.id);
    if (!current || current.expiresAt === null || current.expiresAt > now.toISOString()) return false;
    await this.remove(current);
    return true;
  }

  /** The unit (its engine container, its staged script) first, then the record. */
  private async remove(record: ContainerRecord): Promise<void> {
    await this.options.scheduler.destroy(record.unitName);
    await this.options.containers.delete(record.id);
  }

  async script(user: User, id: string): Promise<Buffer> {
    const { record } = await this.owned(user, id);
    const script = await this.options.containers.script(record.id);
    if (!script) throw new NotFoundError('This container has no script.');
    return script;
  }

  async state(user: User, id: string): Promise<ContainerState> {
    const { record, unit } = await this.owned(user, id);
    const located = await this.options.scheduler.locate(unit.name);
    const { location } = located;
    // A container on a machine that is down has no engine state to read (that is not an error).
    const inspection =
      location.container !== null && location.problem === null
        ? await this.options.satellites.forMachine(location.machineId).cachedInspect(location.container)
        : null;
    // A backend that observed the unit itself (swarm tasks) knows more than an inspection.
    const fresh = location.observed ? located.unit : await this.options.scheduler.recordInspection(unit.name, inspection);
    const systemd = systemdStateOf(fresh) ?? { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
    const view = containerView(record, fresh);
    const state: ContainerState = {
      fleet_state: { name: unit.name, ...systemd },
      // Before the engine has the container this is {}, never an error.
      docker_state: inspection?.state ?? {},
      status: view.status,
      reason: view.reason,
      node: location.machineId ?? fresh.machineId,
      expires_at: record.expiresAt,
      hostname: view.hostname,
      network: view.network,
      ports: portViews(record.request.ports, fresh.observed?.ports),
    };
    if (location.notes.length > 0) state.copies = location.notes;
    return state;
  }

  async logs(user: User, id: string, query: LogQuery): Promise<StreamedResponse> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.logs(container, query);
  }

  async metrics(user: User, id: string): Promise<ContainerMetrics> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.metrics(container);
  }

  async changes(user: User, id: string): Promise<ChangeEntry[]> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.changes(container);
  }

  async files(user: User, id: string): Promise<FileEntry[]> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.files(container);
  }

  async file(user: User, id: string, path: string): Promise<StreamedResponse> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.file(container, path);
  }

  async fileByNumber(user: User, id: string, num: number): Promise<StreamedResponse> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    const entry = (await satellite.files(container))[num];
    if (!entry) throw new NotFoundError(`There is no changed file number ${num}.`);
    return satellite.file(container, entry.path);
  }

  async archive(user: User, id: string, gzip: boolean): Promise<StreamedResponse> {
    const { satellite, container } = await this.options.locator.locate(user, id);
    return satellite.archive(container, gzip);
  }
}
