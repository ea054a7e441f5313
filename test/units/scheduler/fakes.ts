/**
 * Fakes at the scheduler's own ports (HostAgent, UnitStore), for fast tests of its decisions:
 * convergence, placement, starts, restarts, faults. They are legitimate here because these ports are
 * the scheduler's boundary; the real satellite, engine and SQL store are tested behind the same
 * behaviour by the real-engine suites (test/api/fleet-*.test.ts, sandbox-operations, store-units).
 */
import { HttpError, NotFoundError, ServiceUnavailableError } from '../../../common/errors';
import type { ContainerSpec } from '../../../common/container-spec';
import type {
  ContainerInspection,
  ContainerSummary,
  CreateContainerRequest,
  DockerState,
  MachineInfo,
} from '../../../common/satellite-protocol';
import { capturingLogger, type CapturingLogger } from '../../../common/logger';
import { containerSpecFromUnit } from '../../../units/container-unit';
import type { Machine } from '../../../units/placement';
import type { HostAgent } from '../../../units/scheduler/host-agent';
import { LocalBackend } from '../../../units/scheduler/local-backend';
import { Scheduler, type NewUnit } from '../../../units/scheduler/scheduler';
import { parseUnitFile, unitHash } from '../../../units/unit-file';
import type { UnitListFilter, UnitPageQuery, UnitPatch, UnitRecord, UnitStore, WatchedUnit } from '../../../units/scheduler/model';
import { systemdStateOf } from '../../../units/scheduler/unit-status';

const NEVER = '0001-01-01T00:00:00Z';

interface FakeContainer {
  engineId: string;
  spec: ContainerSpec;
  state: DockerState;
}

const stateOf = (patch: Partial<DockerState> = {}): DockerState => ({
  Paused: false,
  FinishedAt: NEVER,
  StartedAt: NEVER,
  Restarting: false,
  Dead: false,
  ExitCode: 0,
  Error: '',
  OOMKilled: false,
  Pid: 0,
  Running: false,
  Status: 'created',
  ...patch,
});

/** One Docker host behind its satellite, as the scheduler sees it: containers in a map. */
export class FakeHost implements HostAgent {
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, as `verb name`, in order. */
  readonly calls: string[] = [];
  /** The satellite cannot be reached: every call fails as the real client's do. */
  down = false;
  /** Containers whose start the engine refuses, with its message. */
  readonly refusesStart = new Map<string, string>();
  metadata: Record<string, string> = {};
  private nextId = 1;
  private clock = 0;

  private call(what: string): void {
    this.calls.push(what);
    if (this.down) throw new ServiceUnavailableError('The satellite is unavailable (ECONNREFUSED).');
  }

  /** A distinct timestamp per event (starts within one millisecond differ). */
  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.clock * 1000).toISOString();
  }

  private inspection(name: string, container: FakeContainer): ContainerInspection {
    return { engineId: container.engineId, name, image: container.spec.image, created: NEVER, labels: { ...container.spec.labels }, state: { ...container.state } };
  }

  async machine(): Promise<MachineInfo> {
    this.call('machine');
    return { id: 'a'.repeat(32), hostname: 'fake', primaryIP: '10.0.0.1', metadata: { ...this.metadata }, engine: { version: 'fake', apiVersion: 'fake' } };
  }

  async create(request: CreateContainerRequest): Promise<ContainerInspection> {
    const name = request.spec.name;
    this.call(`create ${name}`);
    if (this.containers.has(name)) throw new HttpError(409, { detail: `Conflict. The container name "/${name}" is already in use.` });
    const container = { engineId: `c${this.nextId++}`, spec: structuredClone(request.spec), state: stateOf() };
    this.containers.set(name, container);
    return this.inspection(name, container);
  }

  async start(name: string): Promise<ContainerInspection> {
    this.call(`start ${name}`);
    const container = this.containers.get(name);
    if (!container) throw new NotFoundError(`No such container: ${name}`);
    const refusal = this.refusesStart.get(name);
    if (refusal !== undefined) {
      container.state = { ...container.state, Error: refusal, ExitCode: 127 };
      throw new HttpError(500, { detail: refusal });
    }
    if (!container.state.Running) container.state = stateOf({ Running: true, Status: 'running', StartedAt: this.now(), Pid: 100 + this.clock });
    return this.inspection(name, container);
  }

  async stop(name: string): Promise<void> {
    this.call(`stop ${name}`);
    const container = this.containers.get(name);
    if (!container) throw new NotFoundError(`No such container: ${name}`);
    this.exit(name, 0);
  }

  async remove(name: string): Promise<void> {
    this.call(`remove ${name}`);
    this.containers.delete(name);
  }

  async inspect(name: string): Promise<ContainerInspection | null> {
    this.call(`inspect ${name}`);
    const container = this.containers.get(name);
    return container ? this.inspection(name, container) : null;
  }

  async list(labelFilters: string[]): Promise<ContainerSummary[]> {
    this.call('list');
    const matches = (labels: Record<string, string>): boolean =>
      labelFilters.every((filter) => {
        const [key, value] = filter.split('=') as [string, string];
        return labels[key] === value;
      });
    return [...this.containers]
      .filter(([, container]) => matches(container.spec.labels))
      .map(([name, container]) => ({ engineId: container.engineId, name, labels: { ...container.spec.labels }, state: container.state.Status, exitCode: container.state.ExitCode }));
  }

  // What happens on the engine without the scheduler asking:

  /** The container's process exits; an `--rm` container is then removed by the engine. */
  exit(name: string, exitCode: number): void {
    const container = this.containers.get(name);
    if (!container) return;
    container.state = { ...container.state, Running: false, Restarting: false, Pid: 0, Status: 'exited', ExitCode: exitCode, FinishedAt: this.now() };
    if (container.spec.autoRemove) this.containers.delete(name);
  }

  /** The engine is restarting the container after it crashed (its restart policy). */
  crashLooping(name: string): void {
    const container = this.containers.get(name) as FakeContainer;
    container.state = { ...container.state, Running: false, Restarting: true, Status: 'restarting', ExitCode: 1 };
  }

  /** The engine runs it again between two crashes. */
  runsAgain(name: string): void {
    const container = this.containers.get(name) as FakeContainer;
    container.state = { ...container.state, Running: true, Restarting: false, Status: 'running', StartedAt: this.now() };
  }

  /** Someone removed it behind BoatLoad's back (docker rm -f, an engine that lost it). */
  lose(name: string): void {
    this.containers.delete(name);
  }

  engineIdOf(name: string): string | undefined {
    return this.containers.get(name)?.engineId;
  }
}

/**
 * The unit store in memory, with the SQL store's rules (sorted by name, filters, pages). Its methods
 * are asynchronous as the store's are, but each takes effect when it is called (`peek` reads it now).
 */
export class MemoryUnitStore implements UnitStore {
  private readonly units = new Map<string, UnitRecord>();

  /** The unit as stored now (a copy). */
  peek(name: string): UnitRecord | undefined {
    const unit = this.units.get(name);
    return unit && structuredClone(unit);
  }

  private listNow(filter: UnitListFilter = {}): UnitRecord[] {
    return [...this.units.values()]
      .filter((unit) => filter.wanted === undefined || (unit.desiredState !== 'inactive') === filter.wanted)
      .filter((unit) => filter.placed === undefined || (unit.machineId !== null) === filter.placed)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((unit) => structuredClone(unit));
  }

  async get(name: string): Promise<UnitRecord | undefined> {
    return this.peek(name);
  }

  async list(filter: UnitListFilter = {}): Promise<UnitRecord[]> {
    return this.listNow(filter);
  }

  async listWatched(): Promise<WatchedUnit[]> {
    return this.listNow({ wanted: true }).map(({ name, engineName, machineId, observed }) => ({ name, engineName, machineId, observed }));
  }

  async page(query: UnitPageQuery): Promise<UnitRecord[]> {
    return this.listNow()
      .filter((unit) => !query.withSystemdState || systemdStateOf(unit) !== null)
      .filter((unit) => query.machineId === undefined || unit.machineId === query.machineId)
      .filter((unit) => query.name === undefined || unit.name === query.name)
      .slice(query.offset, query.offset + query.limit);
  }

  async unitUsingEngineName(engineName: string, except: string): Promise<string | undefined> {
    return this.listNow().find((unit) => unit.engineName === engineName && unit.name !== except)?.name;
  }

  async insert(unit: UnitRecord): Promise<void> {
    if (this.units.has(unit.name)) throw new Error(`unit ${unit.name} exists`);
    this.units.set(unit.name, structuredClone(unit));
  }

  async update(name: string, patch: UnitPatch): Promise<void> {
    this.updateNow(name, patch);
  }

  private updateNow(name: string, patch: UnitPatch): void {
    const unit = this.units.get(name);
    if (unit) this.units.set(name, { ...unit, ...structuredClone(patch), updated: new Date().toISOString() });
  }

  async updateMany(updates: ReadonlyArray<{ name: string; patch: UnitPatch }>): Promise<void> {
    for (const { name, patch } of updates) this.updateNow(name, patch);
  }

  async delete(name: string): Promise<boolean> {
    return this.units.delete(name);
  }
}

export const INSTANCE_LABEL = 'boatload.instance=fake';

export interface SchedulerOnFakes {
  scheduler: Scheduler;
  host: FakeHost;
  store: MemoryUnitStore;
  logger: CapturingLogger;
  /** The machines placement sees; default: the host's. Set to change them (a metadata edit). */
  machines: Machine[] | null;
  /** Stores a unit from its file text (its container is named after the unit); nothing runs yet. */
  add: (name: string, unitText: string, patch?: Partial<NewUnit>) => Promise<UnitRecord>;
  /** A unit as stored now. */
  unit: (name: string) => UnitRecord;
}

/** A scheduler with the real local backend over a FakeHost, and a MemoryUnitStore. */
export function schedulerOnFakes(): SchedulerOnFakes {
  const host = new FakeHost();
  const store = new MemoryUnitStore();
  const logger = capturingLogger('scheduler');
  const backend = new LocalBackend({ agent: host, instanceLabel: INSTANCE_LABEL, stopTimeoutSeconds: 1 });
  const [key, value] = INSTANCE_LABEL.split('=') as [string, string];
  const fakes: SchedulerOnFakes = {
    host,
    store,
    logger,
    machines: null,
    scheduler: new Scheduler({
      store,
      backend,
      // As api/containers/workloads.ts: the spec the unit describes, labelled with the installation.
      workloadOf: async (unit) => {
        const spec = containerSpecFromUnit(unit.options, unit.name);
        spec.labels = { ...spec.labels, [key]: value };
        return { spec };
      },
      machines: async () => fakes.machines ?? backend.machines(),
      logger,
    }),
    add: (name, unitText, patch = {}) => {
      const options = parseUnitFile(unitText);
      return fakes.scheduler.add({ name, options, hash: unitHash(options), desiredState: 'inactive', engineName: containerSpecFromUnit(options, name).name, ...patch });
    },
    unit: (name) => store.peek(name) as UnitRecord,
  };
  return fakes;
}

/** A unit file for a container named `container`: fleet's usual form, or without ExecStartPre/--rm. */
export function unitFile(container: string, input: { rm?: boolean; removeFirst?: boolean; restart?: string; xfleet?: string[] } = {}): string {
  return [
    '[Service]',
    ...(input.removeFirst === false ? [] : [`ExecStartPre=-/usr/bin/docker rm -f ${container}`]),
    `ExecStart=/usr/bin/docker run ${input.rm ? '--rm ' : ''}--name ${container} boatload/base:latest sleep 600`,
    `ExecStop=/usr/bin/docker stop ${container}`,
    ...(input.restart ? [`Restart=${input.restart}`] : []),
    ...(input.xfleet ? ['[X-Fleet]', ...input.xfleet] : []),
    '',
  ].join('\n');
}
