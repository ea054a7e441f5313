import { posix } from 'node:path';
import type { ContainerSpec } from '../../common/container-spec';
import { SCRIPT_DIR } from '../../common/satellite-protocol';
import { containerSpecFromUnit } from '../../units/container-unit';
import type { UnitRecord, Workload } from '../../units/scheduler/model';
import type { ContainerRepository } from '../store/containers';
import { LABELS } from '../../common/labels';
import { HOSTNAME, userNetworkName, type NetworkMode } from '../../common/network-model';
import type { ContainerReferences } from './references';

export interface WorkloadResolverOptions {
  containers: ContainerRepository;
  /** This installation's id, put on every container so that its listings find them. */
  instanceId: string;
  /** Resolves a record's links and env templates again from the store (a target may have moved). */
  references?: Pick<ContainerReferences, 'resolveStored'>;
  /**
   * BOATLOAD_NETWORK_DEFAULT: the mode of operator units that name no network (`docker run`
   * without `--network`); absent: such units stay on the engine's default bridge.
   */
  unitNetworkMode?: NetworkMode;
}

/**
 * The owner whose networks operator units share (units are submitted by an administrator or through
 * the unit socket, and stored without a submitter): not a user name (a space is not allowed in one),
 * so no user's containers share them.
 */
export const UNITS_NETWORK_OWNER = 'fleet units';

/**
 * An operator unit without `--network` joins the units' network in the default mode, under the
 * packet filter like a container; its container name, when a DNS label, is its hostname there.
 */
function onUnitsNetwork(spec: ContainerSpec, instanceId: string, mode: NetworkMode): void {
  if (spec.network !== undefined) return;
  spec.labels[LABELS.network] = mode;
  spec.network = mode === 'none' ? 'none' : userNetworkName(instanceId, UNITS_NETWORK_OWNER);
  if (mode !== 'none' && HOSTNAME.test(spec.name)) spec.labels[LABELS.hostname] = spec.name;
}

/**
 * What the scheduler runs for a unit: the spec its options describe (the stored unit is the
 * truth) labelled with this installation and the unit's name (the one place those labels are
 * added, for operator units and container records alike), plus, for /v1/container/ records,
 * the script and data to stage before it starts.
 */
export function workloadResolver(options: WorkloadResolverOptions): (unit: UnitRecord) => Promise<Workload> {
  const { containers, instanceId, references, unitNetworkMode } = options;
  return async (unit) => {
    const spec = containerSpecFromUnit(unit.options, unit.name);
    spec.labels = { ...spec.labels, [LABELS.instance]: instanceId, [LABELS.unit]: unit.name };
    if (!unit.containerId && unitNetworkMode) onUnitsNetwork(spec, instanceId, unitNetworkMode);
    const record = unit.containerId ? await containers.find(unit.containerId) : undefined;
    if (!record) return { spec };
    const workload: Workload = { spec };
    // Links and templates point where their targets are reached now: a container built again
    // (lost and recreated, a new Swarm service) follows a target that moved. When a target is gone
    // or not published, the values resolved at create stay.
    const resolved = await references?.resolveStored(record, new Map());
    if (resolved) {
      spec.env = resolved.env;
      if (resolved.hosts.length > 0) spec.extraHosts = resolved.hosts;
    }
    // The standard input of a run that has one is in the store with its script: any replica stages it.
    const { script, stdin } = await containers.runFiles(record.id);
    if (script && record.request.scriptname) {
      workload.script = { path: posix.join(SCRIPT_DIR, record.request.scriptname), contentBase64: script.toString('base64') };
      if (stdin !== null) workload.script.stdinBase64 = stdin.toString('base64');
    }
    if (record.request.dataurl && record.request.datapath) workload.data = { url: record.request.dataurl, path: record.request.datapath };
    return workload;
  };
}
