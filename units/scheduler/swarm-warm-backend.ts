/**
 * The swarm backend with warm capacity (swarm-warm.ts): a unit whose run reserved a member on a
 * node runs in that member, a plain container on that node, driven through that node's satellite;
 * every other unit (and a warm run that is started again) is a Swarm service (swarm-backend.ts).
 *
 * A warm run's node going down is its loss, as for a cold one-shot task: the observation is
 * `missing` with an error naming the node, and reads answer 503 naming it, at once, rather than
 * waiting on a satellite that does not answer.
 */
import { LABELS } from '../../common/labels';
import type { Logger } from '../../common/logger';
import type { ContainerInspection } from '../../common/satellite-protocol';
import type { Machine } from '../placement';
import type { ApplyResult, SchedulerBackend, UnitAction, UnitLocation } from './backend';
import type { EngineObservation, UnitRecord, UnitState, Workload } from './model';
import { observationOf, toEngineStatus } from './observation';
import { describeNode, type SwarmNodes } from './swarm-nodes';
import type { SwarmWarmAgent, SwarmWarmPools } from './swarm-warm';

export interface SwarmWarmBackendOptions {
  /** The swarm backend, for every unit that is (or becomes) a service. */
  swarm: SchedulerBackend & Required<Pick<SchedulerBackend, 'locate'>>;
  pools: SwarmWarmPools;
  nodes: SwarmNodes;
  /** The satellite of a node (by machine id). */
  agentFor(machineId: string): SwarmWarmAgent;
  instanceLabel: string;
  stopTimeoutSeconds: number;
  logger: Logger;
}

const now = (): string => new Date().toISOString();

export class SwarmWarmBackend implements SchedulerBackend {
  /** The last observation of each warm run, kept while its node's satellite does not answer a listing. */
  private readonly lastSeen = new Map<string, EngineObservation>();

  constructor(private readonly options: SwarmWarmBackendOptions) {}

  machines(): Promise<Machine[]> {
    return this.options.swarm.machines();
  }

  /** Why a node cannot be asked about its warm runs now (down, drained, gone), or null. */
  private nodeProblem(machineId: string): string | null {
    const node = this.options.nodes.byMachineId(machineId);
    if (!node) return `machine ${machineId} is no longer a node of the Swarm`;
    return node.state === 'ready' ? null : `${describeNode(node)} is ${node.state}`;
  }

  private lost(machineId: string, problem: string): EngineObservation {
    return { status: 'missing', exitCode: null, error: `${problem}: the warm run there is lost (a one-shot container is not run again)`, observedAt: now(), machineId };
  }

  private observed(inspection: ContainerInspection | null, machineId: string): EngineObservation {
    return { ...observationOf(inspection), machineId };
  }

  async apply(unit: UnitRecord, workload: Workload, target: UnitState | 'created'): Promise<ApplyResult> {
    const warm = this.options.pools.machineOf(workload.spec.name);
    if (!warm) return this.options.swarm.apply(unit, workload, target);
    if (target === 'inactive') {
      await this.removeRun(workload.spec.name, warm.machineId, warm.taken);
      return this.options.swarm.apply(unit, workload, target);
    }
    if (!warm.taken) {
      if (target === 'launched') return this.start({ unit, workload, fresh: false });
      // Stopped before its start: the member goes back and the unit is a service, as without a pool.
      await this.removeRun(workload.spec.name, warm.machineId, false);
      return this.options.swarm.apply(unit, workload, target);
    }
    const problem = this.nodeProblem(warm.machineId);
    if (problem) return { observed: this.lost(warm.machineId, problem), machineId: warm.machineId, everStarted: true };
    const agent = this.options.agentFor(warm.machineId);
    let inspection = await agent.inspect(workload.spec.name);
    if (target === 'loaded' && inspection?.state.Running) {
      await agent.stop(workload.spec.name, this.options.stopTimeoutSeconds);
      inspection = await agent.inspect(workload.spec.name);
    }
    return { observed: this.observed(inspection, warm.machineId), machineId: warm.machineId, everStarted: true };
  }

  /**
   * The first start of a run that reserved a member takes it; a run whose member could not be taken
   * starts cold (a service). A warm run started again runs afresh as a service: its ended container
   * goes first.
   */
  async start(action: UnitAction): Promise<ApplyResult> {
    const name = action.workload.spec.name;
    const warm = this.options.pools.machineOf(name);
    if (!warm) return this.options.swarm.start(action);
    if (!warm.taken) {
      const taken = await this.options.pools.take(action.workload);
      if (taken) return { observed: this.observed(taken.inspection, taken.machineId), machineId: taken.machineId, everStarted: true };
      this.options.logger.info(`${name}: no warm member could be taken; it runs as a service`);
      return this.options.swarm.start(action);
    }
    if (!this.nodeProblem(warm.machineId)) {
      const inspection = await this.options.agentFor(warm.machineId).inspect(name);
      if (inspection?.state.Running || inspection?.state.Restarting) return { observed: this.observed(inspection, warm.machineId), machineId: warm.machineId, everStarted: true };
    }
    await this.removeRun(name, warm.machineId, true);
    return this.options.swarm.start({ ...action, fresh: true });
  }

  async restart(action: UnitAction): Promise<ApplyResult> {
    const name = action.workload.spec.name;
    const warm = this.options.pools.machineOf(name);
    if (!warm?.taken) return warm ? this.start(action) : this.options.swarm.restart(action);
    await this.removeRun(name, warm.machineId, true);
    return this.options.swarm.start({ ...action, fresh: true });
  }

  /**
   * Removes a warm run's container through its node's satellite (a reserved member goes back).
   * A node that is down keeps it until it returns: its next pool removes members no unit runs in.
   */
  private async removeRun(name: string, machineId: string, taken: boolean): Promise<void> {
    if (!taken) {
      this.options.pools.release(name.replace(/^boatload-/, ''));
      return;
    }
    this.options.pools.forget(name);
    this.lastSeen.delete(name);
    const problem = this.nodeProblem(machineId);
    if (problem) {
      this.options.logger.warn(`${name}: not removed now (${problem}); the node's warm pool removes it when it returns`);
      return;
    }
    await this.options.agentFor(machineId).remove(name);
  }

  /** The services' observations, and every warm run's from its node's satellite (one listing per node that has some). */
  async observeAll(): Promise<Map<string, EngineObservation>> {
    const byName = await this.options.swarm.observeAll();
    const nodes = await this.options.nodes.list();
    const runs = this.options.pools.takenRuns();
    const holding = new Set(runs.values());
    const listed = await Promise.all(
      nodes
        .filter((node) => node.state === 'ready' && holding.has(node.machineId))
        .map(async (node) => {
          try {
            return { node, members: await this.options.agentFor(node.machineId).list([this.options.instanceLabel, LABELS.warmPool]) };
          } catch (err) {
            this.options.logger.debug(`warm runs of ${describeNode(node)} not listed: ${(err as Error).message}`);
            return { node, members: null };
          }
        }),
    );
    const answered = new Set<string>();
    const observedAt = now();
    for (const { node, members } of listed) {
      if (!members) continue;
      answered.add(node.machineId);
      for (const member of members) {
        const run = this.options.pools.machineOf(member.name);
        if (!run?.taken) continue;
        const observed: EngineObservation = { status: toEngineStatus(member.state), exitCode: member.exitCode ?? null, error: null, observedAt, machineId: node.machineId };
        if (member.ports && member.ports.length > 0) observed.ports = member.ports;
        this.lastSeen.set(member.name, observed);
        byName.set(member.name, observed);
      }
    }
    for (const [name, machineId] of runs) {
      if (byName.has(name)) continue;
      const problem = this.nodeProblem(machineId);
      const seen = this.lastSeen.get(name);
      if (problem) byName.set(name, this.lost(machineId, problem));
      // A satellite that did not answer: its runs are as last seen.
      else if (!answered.has(machineId) && seen) byName.set(name, seen);
    }
    return byName;
  }

  async locate(unit: UnitRecord): Promise<UnitLocation> {
    const warm = this.options.pools.machineOf(unit.engineName);
    if (!warm) return this.options.swarm.locate(unit);
    const { machineId } = warm;
    // Reserved, not taken yet (the take is on its way): the member is there already and is the
    // run's container, as on one host (a read now sees a container that has printed nothing yet).
    if (!warm.taken) return { machineId, container: unit.engineName, problem: this.nodeProblem(machineId), notes: [] };
    const problem = this.nodeProblem(machineId);
    if (problem) return { machineId, container: unit.engineName, problem: `${problem}; its containers cannot be read until it returns`, observed: this.lost(machineId, problem), notes: [] };
    const inspection = await this.options.agentFor(machineId).inspect(unit.engineName);
    return { machineId, container: inspection ? unit.engineName : null, problem: null, observed: this.observed(inspection, machineId), notes: [] };
  }
}
