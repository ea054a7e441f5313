/**
 * The embedded default backend: every unit runs on this host, through its satellite.
 */
import { ConflictError, HttpError, ServiceUnavailableError } from '../../common/errors';
import type { ContainerInspection } from '../../common/satellite-protocol';
import type { Machine } from '../placement';
import type { ApplyResult, SchedulerBackend, UnitAction } from './backend';
import type { HostAgent } from './host-agent';
import type { EngineObservation, UnitRecord, UnitState, Workload } from './model';
import { observationOf, toEngineStatus } from './observation';

export interface LocalBackendOptions {
  agent: HostAgent;
  /** Label every container of this installation carries (`key=value`), to list only ours. */
  instanceLabel: string;
  stopTimeoutSeconds: number;
  /** Warm capacity: a run reserved a pooled container when its record was made (warm-pool.ts). */
  warm?: { take(workload: Workload): Promise<ContainerInspection | null> };
}

/** How long a start waits for the engine to finish removing the container it replaces. */
const REMOVAL_WAIT = { totalMs: 10_000, stepMs: 50 };

/**
 * Whether the engine's container holds other values than the unit's spec for the spec's variables:
 * a container whose links or env templates now resolve elsewhere (its target moved) is built again
 * on its next start, as the engine cannot change a container's environment. (Satellites that do not
 * report the environment: never.)
 */
function envChanged(inspection: ContainerInspection, workload: Workload): boolean {
  if (!inspection.env) return false;
  const engine = new Map(inspection.env.filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return Object.entries(workload.spec.env).some(([name, value]) => engine.get(name) !== value);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalBackend implements SchedulerBackend {
  private machine: Machine | null = null;
  private readonly instance: { key: string; value: string };

  constructor(private readonly options: LocalBackendOptions) {
    const equals = options.instanceLabel.indexOf('=');
    this.instance = { key: options.instanceLabel.slice(0, equals), value: options.instanceLabel.slice(equals + 1) };
  }

  /** Whether the container carries this installation's label (units may name any container). */
  private owns(inspection: ContainerInspection): boolean {
    return inspection.labels[this.instance.key] === this.instance.value;
  }

  async machines(): Promise<Machine[]> {
    if (!this.machine) {
      const info = await this.options.agent.machine();
      this.machine = { id: info.id, primaryIP: info.primaryIP, metadata: info.metadata };
    }
    return [this.machine];
  }

  async apply(unit: UnitRecord, workload: Workload, target: UnitState | 'created'): Promise<ApplyResult> {
    const { agent } = this.options;
    const name = workload.spec.name;
    const [machine] = await this.machines();
    // The launch right after a create (what every new container does): start it straight away. The
    // start answers the inspection the engine would have given before it; a container that is gone
    // after all takes the full path below.
    if (target === 'launched' && unit.observed?.status === 'created' && !unit.everStarted) {
      const launched = await this.tryStart(name);
      if (launched.inspection) return { observed: observationOf(launched.inspection, launched.error), machineId: machine.id, everStarted: true };
    }
    // A unit never observed has no container yet (or, after a crash mid-create, one the create
    // below runs into): skip the inspect that would only say 404.
    const neverCreated = unit.observed === null && !unit.everStarted && target !== 'inactive';
    let inspection = neverCreated ? null : await agent.inspect(name);
    let everStarted = unit.everStarted;
    // A container of that name that this installation did not create is never touched.
    const foreign = inspection !== null && !this.owns(inspection);

    if (target === 'inactive') {
      if (inspection && !foreign) await agent.remove(name);
      return { observed: observationOf(null), machineId: null, everStarted };
    }
    if (foreign) throw new ConflictError(`the engine already has a container named "${name}" that BoatLoad did not create`);
    if (!inspection) {
      // An ephemeral container that already ran and then vanished is lost, not re-run (until a
      // start); one the engine removes when it exits (`--rm`) has only finished.
      if (everStarted && workload.spec.restart === 'no') {
        const error = workload.spec.autoRemove ? null : 'the container disappeared from the engine';
        return { observed: observationOf(null, error), machineId: machine.id, everStarted };
      }
      inspection = await this.createOrAdopt(workload);
    }
    if (target === 'loaded' && inspection?.state.Running) {
      await agent.stop(name, this.options.stopTimeoutSeconds);
      // The engine removes an `--rm` container after it stopped: the stop is done when it is gone.
      if (workload.spec.autoRemove) await this.waitUntilGone(name);
      inspection = await agent.inspect(name);
    }
    let startError: string | null = null;
    if (target === 'launched' && inspection && !inspection.state.Running && !inspection.state.Restarting) {
      const restartable = workload.spec.restart !== 'no';
      if (!everStarted || restartable) {
        ({ inspection, error: startError } = await this.tryStart(name));
        everStarted = true;
      }
    }
    return { observed: observationOf(inspection, startError), machineId: machine.id, everStarted };
  }

  async start(action: UnitAction): Promise<ApplyResult> {
    const { unit, workload } = action;
    const name = workload.spec.name;
    const [machine] = await this.machines();
    // The start right after a create (what every new container does): start it straight away; a
    // container that is gone after all takes the full path below.
    if (unit.observed?.status === 'created' && !unit.everStarted) {
      const launched = await this.tryStart(name);
      if (launched.inspection) return { observed: observationOf(launched.inspection, launched.error), machineId: machine.id, everStarted: true };
    }
    let inspection = unit.observed === null && !unit.everStarted ? null : await this.options.agent.inspect(name);
    if (inspection && !this.owns(inspection)) throw new ConflictError(`the engine already has a container named "${name}" that BoatLoad did not create`);
    if (inspection?.state.Running || inspection?.state.Restarting) {
      return { observed: observationOf(inspection), machineId: machine.id, everStarted: true };
    }
    if (inspection && this.replacedOnStart(inspection, action)) {
      await this.removeAndWait(name);
      inspection = null;
    }
    if (!inspection) {
      // A run that reserved a warm member starts there: that container exists and runs already.
      const warm = await this.options.warm?.take(workload);
      if (warm) return { observed: observationOf(warm), machineId: machine.id, everStarted: true };
      await this.createOrAdopt(workload);
    }
    const started = await this.tryStart(name);
    return { observed: observationOf(started.inspection, started.error), machineId: machine.id, everStarted: true };
  }

  async restart(action: UnitAction): Promise<ApplyResult> {
    const name = action.workload.spec.name;
    const inspection = await this.options.agent.inspect(name);
    if (inspection && !this.owns(inspection)) throw new ConflictError(`the engine already has a container named "${name}" that BoatLoad did not create`);
    if (inspection?.state.Running || inspection?.state.Restarting) await this.options.agent.stop(name, this.options.stopTimeoutSeconds);
    return this.start({ ...action, unit: { ...action.unit, observed: inspection ? observationOf(inspection) : null, everStarted: true } });
  }

  /**
   * Whether a start replaces the (stopped) container by a fresh one: when the unit asks for that
   * and the container already ran (a never-started one is as fresh as a new one), and always for
   * one the engine removes by itself (`--rm`) or is removing: starting it again would race that.
   */
  private replacedOnStart(inspection: ContainerInspection, action: UnitAction): boolean {
    // Docker quirk: a never-started container reports StartedAt 0001-01-01.
    const ran = !inspection.state.StartedAt.startsWith('0001-');
    return inspection.state.Status === 'removing' || (ran && (action.fresh || action.workload.spec.autoRemove)) || envChanged(inspection, action.workload);
  }

  /** Removes the container and waits until the engine no longer has it (its name is free again). */
  private async removeAndWait(name: string): Promise<void> {
    await this.options.agent.remove(name);
    // The engine may still be removing it (an `--rm` container that just exited): the removal
    // above then returns at once, and a create now would find the name taken.
    await this.waitUntilGone(name);
  }

  private async waitUntilGone(name: string): Promise<void> {
    for (let waited = 0; await this.options.agent.inspect(name); waited += REMOVAL_WAIT.stepMs) {
      if (waited >= REMOVAL_WAIT.totalMs) throw new ServiceUnavailableError(`the engine is still removing container "${name}"`);
      await sleep(REMOVAL_WAIT.stepMs);
    }
  }

  /**
   * Starts the container and answers its inspection. The engine refuses to start some containers (a
   * command that is not executable, a missing entrypoint): that is the container's error state, with
   * the engine's reason. Only an unreachable satellite or engine is the scheduler's failure.
   */
  private async tryStart(name: string): Promise<{ inspection: ContainerInspection | null; error: string | null }> {
    try {
      return { inspection: await this.options.agent.start(name), error: null };
    } catch (err) {
      if (err instanceof ServiceUnavailableError || !(err instanceof Error)) throw err;
      return { inspection: await this.options.agent.inspect(name), error: err.message };
    }
  }

  /**
   * Creates the unit's container. If the name is taken after all (a create that an earlier, crashed
   * attempt already made), the container is ours to carry on with, unless someone else made it.
   */
  private async createOrAdopt(workload: Workload): Promise<ContainerInspection> {
    const name = workload.spec.name;
    try {
      return await this.options.agent.create({ spec: workload.spec, script: workload.script, data: workload.data });
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 409)) throw err;
      const existing = await this.options.agent.inspect(name);
      if (!existing) throw err;
      if (!this.owns(existing)) throw new ConflictError(`the engine already has a container named "${name}" that BoatLoad did not create`);
      return existing;
    }
  }

  async observeAll(): Promise<Map<string, EngineObservation>> {
    const summaries = await this.options.agent.list([this.options.instanceLabel]);
    const observedAt = new Date().toISOString();
    const byName = new Map<string, EngineObservation>();
    for (const summary of summaries) {
      const observed: EngineObservation = { status: toEngineStatus(summary.state), exitCode: summary.exitCode ?? null, error: null, observedAt };
      if (summary.ports && summary.ports.length > 0) observed.ports = summary.ports;
      byName.set(summary.name, observed);
    }
    return byName;
  }
}
