/**
 * The Swarm backend: every unit is a Swarm service on a manager's engine. Ephemeral units are
 * replicated services with restart condition `none`, permanent ones restart `any`, Global units are
 * global services. `created`/`loaded` is a service with 0 replicas, `launched` 1 (a global unit's
 * service exists only while launched). Services are created without asking a registry (the image
 * is referenced by its ID on the manager), with a dnsrr endpoint and host-mode ports, on their
 * user's overlays (swarm-networks.ts: made on demand, swept when no service uses them). [X-Fleet]
 * rules become placement constraints (swarm-spec.ts), recomputed when nodes or placed units change.
 * The script is a Swarm config mounted at its path with mode 0755 (the satellite cannot stage
 * files before Swarm starts a container); data staging (dataurl) is for the local backend only.
 */
import { LABELS } from '../../common/labels';
import type Docker from 'dockerode';
import { ConflictError, HttpError, PayloadTooLargeError, ServiceUnavailableError, ValidationError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { ScriptStaging } from '../../common/satellite-protocol';
import { readFleetRequirements } from '../fleet-options';
import type { Machine } from '../placement';
import type { ApplyResult, SchedulerBackend, UnitAction, UnitLocation } from './backend';
import type { EngineObservation, UnitRecord, UnitState, Workload } from './model';
import { overlayPlanFor, SwarmNetworks } from './swarm-networks';
import { isSchedulable, machineOfNode, type SwarmNode, type SwarmNodes } from './swarm-nodes';
import {
  MAX_SWARM_CONFIG_BYTES,
  isOneShot,
  scriptConfigName,
  serviceNameFor,
  serviceSpecFor,
  swarmConstraintsFor,
  taskSettled,
  viewOfTasks,
  type SwarmTask,
  type TaskView,
} from './swarm-spec';
import { placedUnitsOf, type PlacementUnit } from './unit-placement';

export interface SwarmPlacementContext {
  /** The machines placement sees (with metadata edits). */
  machines: Machine[];
  /** Every unit, with the machine it is on. */
  units: PlacementUnit[];
}

export interface SwarmBackendOptions {
  /** A manager's engine. */
  docker: Docker;
  nodes: SwarmNodes;
  /** Label every service of this installation carries (`key=value`). */
  instanceLabel: string;
  /** What placement sees now: read when constraints are computed. */
  placementContext: () => Promise<SwarmPlacementContext>;
  stopTimeoutSeconds: number;
  /** Swarm's delay before it restarts (or replaces) a task. */
  restartDelayMs: number;
  logs: { maxSize: string; maxFiles: number };
  /** How long apply waits for a launched task to be placed and started. */
  taskWaitMs: number;
  logger: Logger;
}

/** The subset of the Engine API's Service object read here. */
interface EngineService {
  ID: string;
  Version?: { Index?: number };
  Spec: Docker.ServiceSpec & { Mode?: Docker.ServiceMode; TaskTemplate?: Docker.ContainerTaskSpec };
}

interface EngineConfig {
  ID: string;
  Spec?: { Name?: string };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;
const engineMessage = (err: unknown): string => (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
/** What a started unit's task may be doing: a start leaves these as they are. */
const RUNNING: ReadonlySet<EngineObservation['status']> = new Set(['running', 'restarting', 'created', 'paused']);
/** How often, at most, observeAll removes users' overlays that no service uses any more. */
const NETWORK_SWEEP_MS = 5000;
/**
 * waitForTask's polls (one task list on the manager each): often while a task usually starts (well
 * under a second), then less often. The launch answers, and state reads report `running`, only
 * after this wait: at 100 ms from the start, it added ~50 ms (up to 100) to every create → running.
 */
const TASK_POLL = { fastMs: 20, fastForMs: 3000, slowMs: 100 };

export class SwarmBackend implements SchedulerBackend {
  private readonly instance: { key: string; value: string };
  private placementSignature = '';
  private refreshing: Promise<void> | null = null;
  /** Users' overlays (the warm pools join runs to them too: swarm-warm.ts). */
  readonly networks: SwarmNetworks;
  private sweeping: Promise<void> | null = null;
  private lastSweep = 0;
  private holdsOverlays: () => boolean = () => false;

  constructor(private readonly options: SwarmBackendOptions) {
    const equals = options.instanceLabel.indexOf('=');
    this.instance = { key: options.instanceLabel.slice(0, equals), value: options.instanceLabel.slice(equals + 1) };
    this.networks = new SwarmNetworks({ docker: options.docker, instanceLabel: options.instanceLabel, logger: options.logger, sweepGraceMs: 10_000 });
  }

  /** The Swarm's nodes that can run tasks now (ready and active). */
  async machines(): Promise<Machine[]> {
    return (await this.options.nodes.list()).filter(isSchedulable).map(machineOfNode);
  }

  private async servicesOf(unitName?: string): Promise<EngineService[]> {
    const label = [this.options.instanceLabel];
    if (unitName !== undefined) label.push(`${LABELS.unit}=${unitName}`);
    return (await this.options.docker.listServices({ filters: { label } })) as unknown as EngineService[];
  }

  private async serviceOf(unit: UnitRecord): Promise<EngineService | null> {
    return (await this.servicesOf(unit.name))[0] ?? null;
  }

  private async tasksOf(serviceIds: string[]): Promise<SwarmTask[]> {
    if (serviceIds.length === 0) return [];
    return (await this.options.docker.listTasks({ filters: { service: serviceIds } })) as SwarmTask[];
  }

  private async viewOf(service: EngineService, tasks?: SwarmTask[]): Promise<TaskView> {
    const [taskList] = await Promise.all([tasks ? Promise.resolve(tasks) : this.tasksOf([service.ID]), this.options.nodes.list()]);
    const nodes = this.options.nodes;
    return viewOfTasks({
      tasks: taskList.filter((task) => task.ServiceID === service.ID),
      nodeOf: (nodeId) => nodes.byNodeId(nodeId),
      global: service.Spec.Mode?.Global !== undefined,
      ephemeral: isOneShot(service.Spec),
    });
  }

  /** The image's ID on the manager: Swarm runs an image given by ID without trying a registry. */
  private async imageRef(image: string): Promise<string> {
    try {
      const info = (await this.options.docker.getImage(image).inspect()) as { Id: string };
      return info.Id;
    } catch (err) {
      if (statusOf(err) === 404) {
        throw ValidationError.field('image_name', `Image "${image}" is not present on the Swarm manager and cannot be pulled (no registry); load it on every node.`);
      }
      throw this.engineFailure(err, 'image inspection');
    }
  }

  private engineFailure(err: unknown, what: string): Error {
    if (err instanceof HttpError) return err;
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ETIMEDOUT') {
      return new ServiceUnavailableError(`The Swarm manager's engine is unavailable (${code}).`);
    }
    if (statusOf(err) === 503) return new ServiceUnavailableError(`The Swarm manager cannot serve ${what}: ${engineMessage(err)}`);
    return new ServiceUnavailableError(`The Swarm manager refused ${what}: ${engineMessage(err)}`);
  }

  private async scriptConfig(unit: UnitRecord, serviceName: string, script: ScriptStaging): Promise<{ configId: string; configName: string; path: string }> {
    const size = Buffer.byteLength(script.contentBase64, 'base64');
    if (size > MAX_SWARM_CONFIG_BYTES) {
      throw new PayloadTooLargeError(`With the swarm backend a script must be smaller than ${MAX_SWARM_CONFIG_BYTES + 1} bytes (a Swarm config); this one has ${size}.`);
    }
    if (size === 0) throw ValidationError.field('script', 'The script is empty.');
    const name = scriptConfigName(serviceName, script.path, script.contentBase64);
    const labels = { [this.instance.key]: this.instance.value, [LABELS.unit]: unit.name };
    try {
      const created = (await this.options.docker.createConfig({ Name: name, Labels: labels, Data: script.contentBase64 })) as { id?: string; ID?: string };
      return { configId: (created.id ?? created.ID) as string, configName: name, path: script.path };
    } catch (err) {
      if (statusOf(err) !== 409) throw this.engineFailure(err, 'the script config');
      // The same content for the same unit (content-addressed name): reuse it.
      const existing = ((await this.options.docker.listConfigs({ filters: { name: [name] } })) as EngineConfig[]).find((config) => config.Spec?.Name === name);
      if (!existing) throw this.engineFailure(err, 'the script config');
      return { configId: existing.ID, configName: name, path: script.path };
    }
  }

  private async removeConfigs(unitName: string): Promise<void> {
    const configs = (await this.options.docker.listConfigs({ filters: { label: [this.options.instanceLabel, `${LABELS.unit}=${unitName}`] } })) as EngineConfig[];
    for (const config of configs) {
      try {
        await this.options.docker.getConfig(config.ID).remove();
      } catch (err) {
        // Still referenced by a service being removed, or already gone: the next removal retries.
        this.options.logger.debug(`config ${config.Spec?.Name ?? config.ID} not removed: ${engineMessage(err)}`);
      }
    }
  }

  /** The placement constraints for a unit now, from the nodes and the units placed on them. */
  private async constraintsFor(unit: Pick<UnitRecord, 'name' | 'options'>, context?: SwarmPlacementContext, nodes?: SwarmNode[]): Promise<string[]> {
    const [ctx, allNodes] = await Promise.all([context ?? this.options.placementContext(), nodes ?? this.options.nodes.list()]);
    const edited = new Map(ctx.machines.map((machine) => [machine.id, machine.metadata]));
    const result = swarmConstraintsFor({
      unitName: unit.name,
      requirements: readFleetRequirements(unit.options, unit.name),
      nodes: allNodes,
      metadataOf: (node) => edited.get(node.machineId) ?? node.labels,
      placed: placedUnitsOf(ctx.units.filter((other) => other.name !== unit.name)),
    });
    if ('reason' in result) throw new ServiceUnavailableError(`not placed: ${result.reason}`);
    return result.constraints;
  }

  apply(unit: UnitRecord, workload: Workload, target: UnitState | 'created'): Promise<ApplyResult> {
    return this.converge(unit, workload, target, false);
  }

  /**
   * Every Swarm task is a fresh container from the service's spec, so `fresh` changes nothing here:
   * a service at 0 replicas (a stopped unit) is replaced by a new service; one whose task is no
   * longer running (an ephemeral container that finished) is forced to run a new task.
   */
  start(action: UnitAction): Promise<ApplyResult> {
    return this.converge(action.unit, action.workload, 'launched', true);
  }

  /** A running service is forced to replace its task (a new container); otherwise as start. */
  async restart(action: UnitAction): Promise<ApplyResult> {
    const { unit } = action;
    const service = await this.serviceOf(unit).catch((err) => {
      throw this.engineFailure(err, 'the service list');
    });
    const global = service?.Spec.Mode?.Global !== undefined;
    if (!service || (!global && (service.Spec.Mode?.Replicated?.Replicas ?? 0) === 0)) return this.start(action);
    const view = await this.forceNewTask(service, !global);
    return { observed: view.observed, machineId: global ? null : view.machineId, everStarted: true };
  }

  /** Makes Swarm replace the service's task(s) by new ones (ForceUpdate), and waits for the new task. */
  private async forceNewTask(service: EngineService, wait: boolean): Promise<TaskView> {
    const before = new Set((await this.tasksOf([service.ID])).map((task) => task.ID));
    await this.updateService(service, (spec) => ({ ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate?.ForceUpdate ?? 0) + 1 } }));
    return wait ? this.waitForTask(service, before) : this.viewOf(service);
  }

  private async converge(unit: UnitRecord, workload: Workload, target: UnitState | 'created', rerun: boolean): Promise<ApplyResult> {
    const { spec } = workload;
    let everStarted = unit.everStarted;
    const existing = await this.serviceOf(unit).catch((err) => {
      throw this.engineFailure(err, 'the service list');
    });
    const missing = (error: string | null = null): EngineObservation => ({ status: 'missing', exitCode: null, error, observedAt: new Date().toISOString() });

    if (target === 'inactive') {
      if (existing) await this.removeService(existing);
      await this.removeConfigs(unit.name).catch((err: Error) => this.options.logger.debug(`configs of ${unit.name}: ${err.message}`));
      return { observed: missing(), machineId: null, everStarted };
    }
    if (workload.data) {
      throw ValidationError.field('dataurl', 'Data staging (dataurl, datapath) works with the local backend only: Swarm starts the container before anything could be placed in it.');
    }
    const global = readFleetRequirements(unit.options, unit.name).global;
    const ephemeral = spec.restart === 'no';
    let service = existing;

    if (service && rerun && !global && target === 'launched' && (service.Spec.Mode?.Replicated?.Replicas ?? 0) === 0) {
      // Starting a stopped unit makes a new service rather than scaling the old one from 0 to 1:
      // Swarm (restart condition none) sometimes creates no task at all for that scale-up, for as
      // long as we waited (20 s), while a new service always gets its task. Under systemd every
      // start runs the unit afresh anyway; the script config (content-addressed) is reused.
      await this.removeService(service);
      service = null;
    }

    if (!service) {
      // An ephemeral container that already ran and then vanished is lost, not re-run.
      if (everStarted && ephemeral && !rerun) return { observed: missing('its Swarm service disappeared'), machineId: unit.machineId, everStarted };
      if (global && target !== 'launched') return { observed: missing(), machineId: null, everStarted };
      const serviceName = serviceNameFor(spec.name);
      const imageRef = await this.imageRef(spec.image);
      const constraints = await this.constraintsFor(unit);
      const script = workload.script ? await this.scriptConfig(unit, serviceName, workload.script) : undefined;
      const replicas = target === 'launched' ? 1 : 0;
      const overlays = overlayPlanFor(spec);
      const serviceSpec = serviceSpecFor({
        serviceName,
        unitName: unit.name,
        spec,
        imageRef,
        instanceLabel: this.options.instanceLabel,
        mode: global ? { global: true } : { global: false, replicas },
        constraints,
        script,
        stopTimeoutSeconds: this.options.stopTimeoutSeconds,
        restartDelayMs: this.options.restartDelayMs,
        logs: this.options.logs,
        networks: overlays?.attachments,
      });
      const createService = async (): Promise<{ id?: string; ID?: string }> => await this.options.docker.createService(serviceSpec);
      try {
        let created: { id?: string; ID?: string };
        if (!overlays) created = await createService();
        else {
          // Another API process may sweep an overlay between its creation here and the service's:
          // Swarm then answers 404 (network not found); made again, the second attempt finds it.
          created = await this.networks.withOverlays(overlays, spec.labels, createService).catch((err) => {
            if (statusOf(err) !== 404) throw err;
            return this.networks.withOverlays(overlays, spec.labels, createService);
          });
        }
        service = { ID: (created.id ?? created.ID) as string, Spec: serviceSpec, Version: { Index: 0 } };
      } catch (err) {
        if (statusOf(err) === 409) throw new ConflictError(`the Swarm already has a service named "${serviceName}" that this BoatLoad did not create`);
        if (statusOf(err) === 400) throw new ValidationError({ non_field_errors: [`Swarm refused the service: ${engineMessage(err)}`] });
        throw this.engineFailure(err, 'the service creation');
      }
      if (global || replicas > 0) everStarted = true;
    } else if (!global) {
      const current = service.Spec.Mode?.Replicated?.Replicas ?? 0;
      let wanted = target === 'launched' ? 1 : 0;
      // An ephemeral container runs once: never again after it was started, unless started again.
      if (ephemeral && everStarted && wanted > current && !rerun) wanted = current;
      if (target === 'launched' && current > 0) everStarted = true;
      if (wanted !== current) {
        await this.updateService(service, (spec) => ({ ...spec, Mode: { Replicated: { Replicas: wanted } } }));
        if (wanted > 0) everStarted = true;
      } else if (rerun && current > 0 && !RUNNING.has((await this.viewOf(service)).observed.status)) {
        const view = await this.forceNewTask(service, true);
        return { observed: view.observed, machineId: view.machineId, everStarted: true };
      }
    } else if (target === 'launched' && rerun && !RUNNING.has((await this.viewOf(service)).observed.status)) {
      await this.forceNewTask(service, false);
      everStarted = true;
    } else if (target !== 'launched') {
      // A global service cannot have 0 replicas: loading a global unit removes its service.
      await this.options.docker.getService(service.ID).remove().catch(() => undefined);
      return { observed: missing(), machineId: null, everStarted };
    }

    const view = target === 'launched' && !global ? await this.waitForTask(service) : await this.viewOf(service);
    return { observed: view.observed, machineId: global ? null : view.machineId, everStarted };
  }

  private async removeService(service: EngineService): Promise<void> {
    try {
      await this.options.docker.getService(service.ID).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw this.engineFailure(err, 'the service removal');
    }
  }

  /** Updates a service from its current version (a concurrent update is retried once). */
  private async updateService(service: EngineService, change: (spec: EngineService['Spec']) => EngineService['Spec']): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const fresh = (await this.options.docker.getService(service.ID).inspect()) as EngineService;
      try {
        await this.options.docker.getService(service.ID).update({ _query: { version: fresh.Version?.Index ?? 0 }, _body: change(fresh.Spec) });
        return;
      } catch (err) {
        // "update out of sequence": someone else updated it between our read and our write.
        if (attempt === 0 && /out of sequence/i.test(engineMessage(err))) continue;
        throw this.engineFailure(err, 'the service update');
      }
    }
  }

  /**
   * Waits (bounded) until Swarm has placed the service's task and it has started or failed; with
   * `olderTasks`, a task that is not one of those (the one a forced update made).
   */
  private async waitForTask(service: EngineService, olderTasks?: ReadonlySet<string>): Promise<TaskView> {
    const started = Date.now();
    const deadline = started + this.options.taskWaitMs;
    const oneShot = isOneShot(service.Spec);
    for (;;) {
      const tasks = await this.tasksOf([service.ID]);
      const settled = tasks.some((task) => !olderTasks?.has(task.ID) && taskSettled(task, oneShot));
      if (settled || Date.now() >= deadline) return this.viewOf(service, tasks);
      await sleep(Date.now() - started < TASK_POLL.fastForMs ? TASK_POLL.fastMs : TASK_POLL.slowMs);
    }
  }

  async observeAll(): Promise<Map<string, EngineObservation>> {
    const services = await this.servicesOf();
    const [tasks] = await Promise.all([this.tasksOf(services.map((service) => service.ID)), this.options.nodes.list()]);
    const byName = new Map<string, EngineObservation>();
    for (const service of services) {
      const engineName = service.Spec.Labels?.[LABELS.engineName];
      if (!engineName) continue;
      const view = await this.viewOf(service, tasks);
      const observed = { ...view.observed };
      // A global unit has no single machine.
      if (service.Spec.Mode?.Global !== undefined) delete observed.machineId;
      byName.set(engineName, observed);
    }
    this.sweepNetworks(services);
    if (!this.refreshing) {
      this.refreshing = this.refreshPlacements(services, tasks)
        .catch((err: Error) => this.options.logger.warn(`placement refresh: ${err.message}`))
        .finally(() => (this.refreshing = null));
    }
    return byName;
  }

  /**
   * No overlay is swept while `holds` answers true (warm runs, plain containers, are on users'
   * overlays). Docker quirk: an overlay removed while a plain container on a node still names it
   * stays on that node's engine, and the node then cannot join a new overlay of that name ("Invalid
   * address ...: It does not belong to any of this network's subnets").
   */
  holdOverlaysWhile(holds: () => boolean): void {
    this.holdsOverlays = holds;
  }

  /** Now and then (in the background), removes users' overlays that no service uses any more. */
  private sweepNetworks(services: EngineService[]): void {
    if (this.sweeping || Date.now() - this.lastSweep < NETWORK_SWEEP_MS || this.holdsOverlays()) return;
    this.lastSweep = Date.now();
    this.sweeping = this.networks
      .sweep(services)
      .then(() => undefined)
      .catch((err: Error) => this.options.logger.warn(`overlay sweep: ${err.message}`))
      .finally(() => (this.sweeping = null));
  }

  /**
   * Recomputes every service's constraints when the nodes, their metadata or the units' machines
   * changed. Swarm keeps a task whose node still satisfies new constraints, and moves one that does
   * not. A container that already ran once with restart condition none is never moved (re-run).
   */
  private async refreshPlacements(services: EngineService[], tasks: SwarmTask[]): Promise<void> {
    const [context, nodes] = await Promise.all([this.options.placementContext(), this.options.nodes.list()]);
    const signature = JSON.stringify([
      nodes.map((node) => [node.nodeId, node.labels, node.availability]),
      context.machines.map((machine) => [machine.id, machine.metadata]),
      context.units.map((unit) => [unit.name, unit.machineId]),
      services.map((service) => service.ID),
    ]);
    if (signature === this.placementSignature) return;
    for (const service of services) {
      const unit = context.units.find((candidate) => candidate.name === service.Spec.Labels?.[LABELS.unit]);
      if (!unit) continue;
      const ran = tasks.some((task) => task.ServiceID === service.ID && task.Status.ContainerStatus?.ContainerID);
      if (isOneShot(service.Spec) && ran) continue;
      let constraints: string[];
      try {
        constraints = await this.constraintsFor(unit, context, nodes);
      } catch (err) {
        this.options.logger.warn(`placement of ${unit.name}: ${(err as Error).message}`);
        continue;
      }
      const current = service.Spec.TaskTemplate?.Placement?.Constraints ?? [];
      if (JSON.stringify([...current].sort()) === JSON.stringify([...constraints].sort())) continue;
      this.options.logger.info(`placement of ${unit.name}: ${constraints.join(', ') || 'any node'}`);
      await this.updateService(service, (spec) => ({
        ...spec,
        TaskTemplate: { ...spec.TaskTemplate, Placement: { ...spec.TaskTemplate?.Placement, Constraints: constraints } },
      }));
    }
    this.placementSignature = signature;
  }

  async locate(unit: UnitRecord): Promise<UnitLocation> {
    try {
      return await this.locateOnce(unit);
    } catch (err) {
      // Swarm quirk: a task list filtered by a service that was removed since it was listed is a
      // 404 ("service … not found"). Starting a stopped unit replaces its service (converge), so a
      // read racing a start sees that: read again, from the service list.
      if (statusOf(err) !== 404) throw this.engineFailure(err, 'the task list');
      return this.locateOnce(unit).catch((again) => {
        throw this.engineFailure(again, 'the task list');
      });
    }
  }

  private async locateOnce(unit: UnitRecord): Promise<UnitLocation> {
    let service: EngineService | null;
    try {
      service = await this.serviceOf(unit);
    } catch (err) {
      throw this.engineFailure(err, 'the service list');
    }
    if (!service) {
      const error = unit.everStarted ? 'its Swarm service disappeared' : null;
      return { machineId: unit.machineId, container: null, problem: null, observed: { status: 'missing', exitCode: null, error, observedAt: new Date().toISOString() }, notes: [] };
    }
    const view = await this.viewOf(service);
    const observed = { ...view.observed };
    if (service.Spec.Mode?.Global !== undefined) {
      delete observed.machineId;
      const running = (await this.tasksOf([service.ID])).find((task) => task.Status.ContainerStatus?.ContainerID === view.container);
      const node = running?.NodeID ? this.options.nodes.byNodeId(running.NodeID) : undefined;
      return { machineId: node?.machineId ?? null, container: view.container, problem: null, observed, notes: [] };
    }
    return { machineId: view.machineId, container: view.container, problem: view.problem, observed, notes: view.notes };
  }
}
