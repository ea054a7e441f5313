/**
 * Pure translations for the Swarm backend: a unit's container spec → a Swarm service spec, its
 * [X-Fleet] requirements → placement constraints, and a service's tasks → what BoatLoad reports
 * (engine status, the machine and container that hold the unit now, copies that may still run).
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import type { ContainerSpec, RestartPolicy } from '../../common/container-spec';
import { LABELS } from '../../common/labels';
import { hostnameOf } from '../../common/network-model';
import { publishedPortsOf } from '../../common/published-ports';
import type { FleetRequirements } from '../fleet-options';
import { type Machine, type PlacedUnit, placeUnit } from '../placement';
import type { EngineObservation, EngineStatus } from './model';
import { describeNode, type SwarmNode } from './swarm-nodes';

/** Swarm's limit for a config (the staged script): fewer than 1024000 bytes. */
export const MAX_SWARM_CONFIG_BYTES = 1024000 - 1;

const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const shortHash = (text: string, length: number): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * The service name for a unit's container name: Swarm wants a DNS label (letters, digits, `-`, `_`
 * inside, at most 63 characters); others get a stable hashed name.
 */
export function serviceNameFor(engineName: string): string {
  const cleaned = engineName.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '');
  if (cleaned.length > 0 && cleaned.length <= 63 && DNS_NAME.test(cleaned)) return cleaned;
  return `boatload-${shortHash(engineName, 20)}`;
}

/** A config name for a unit's script: content-addressed, so a changed script is a new config. */
export function scriptConfigName(serviceName: string, path: string, contentBase64: string): string {
  return `${serviceName.slice(0, 40)}-script-${shortHash(`${path}\n${contentBase64}`, 12)}`;
}

export function restartConditionOf(policy: RestartPolicy): 'none' | 'any' | 'on-failure' {
  if (policy === 'no') return 'none';
  return policy === 'on-failure' ? 'on-failure' : 'any';
}

/** Whether a service runs its task once (restart condition none: an ephemeral container). */
export function isOneShot(spec: { TaskTemplate?: { RestartPolicy?: { Condition?: string } } }): boolean {
  return spec.TaskTemplate?.RestartPolicy?.Condition === restartConditionOf('no');
}

const SETTLED = new Set(['running', 'complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
/** A task's states after its container ran (or could not): the task is over. */
const ENDED = new Set(['complete', 'failed', 'rejected']);

/**
 * Whether a task ends the wait for a launch (SwarmBackend.waitForTask): one Swarm still wants
 * running that has started or failed (or is pending with an error), or a one-shot one that is over:
 * a task that ran and ended between two polls already has its desired state set to shutdown, and no
 * other task will come.
 */
export function taskSettled(task: Pick<SwarmTask, 'DesiredState' | 'Status'>, oneShot: boolean): boolean {
  const wanted = task.DesiredState === 'running' || task.DesiredState === 'ready';
  if (wanted && (SETTLED.has(task.Status.State) || (task.Status.State === 'pending' && Boolean(task.Status.Err)))) return true;
  return oneShot && ENDED.has(task.Status.State);
}

export interface ServiceSpecInput {
  serviceName: string;
  unitName: string;
  spec: ContainerSpec;
  /** The image as Swarm should run it (its ID when the manager has it: no pull is tried). */
  imageRef: string;
  /** `key=value` of this installation. */
  instanceLabel: string;
  mode: { global: true } | { global: false; replicas: number };
  constraints: string[];
  script?: { configId: string; configName: string; path: string };
  stopTimeoutSeconds: number;
  restartDelayMs: number;
  logs: { maxSize: string; maxFiles: number };
  /** The user's overlays (swarm-networks.ts); without them, the spec's own network if any. */
  networks?: Docker.NetworkAttachmentConfig[];
}

const NS_PER_MS = 1e6;

/** The Swarm service for one unit: dnsrr endpoint and host-mode ports (no IPVS or ingress needed). */
export function serviceSpecFor(input: ServiceSpecInput): Docker.ServiceSpec {
  const { spec } = input;
  const equals = input.instanceLabel.indexOf('=');
  const labels: Record<string, string> = {
    [input.instanceLabel.slice(0, equals)]: input.instanceLabel.slice(equals + 1),
    [LABELS.unit]: input.unitName,
    [LABELS.engineName]: spec.name,
    [LABELS.image]: spec.image,
  };
  const containerSpec: Docker.ContainerSpec = {
    Image: input.imageRef,
    Labels: { ...spec.labels },
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    StopGracePeriod: input.stopTimeoutSeconds * 1000 * NS_PER_MS,
    Mounts: spec.volumes.map((volume) => ({
      Type: volume.source.startsWith('/') ? 'bind' : 'volume',
      Source: volume.source,
      Target: volume.target,
      ReadOnly: volume.readonly,
    })),
  };
  // Swarm quirk: an empty Command means "the image's entrypoint"; it cannot clear one.
  if (spec.entrypoint && spec.entrypoint.length > 0) containerSpec.Command = spec.entrypoint;
  if (spec.cmd !== undefined) containerSpec.Args = spec.cmd;
  if (spec.workdir) containerSpec.Dir = spec.workdir;
  const hostname = hostnameOf(spec.labels);
  if (hostname) containerSpec.Hostname = hostname;
  // Swarm's /etc/hosts lines are "IP name" (the reverse of docker run's --add-host name:ip).
  if (spec.extraHosts && spec.extraHosts.length > 0) containerSpec.Hosts = spec.extraHosts.map((host) => `${host.ip} ${host.name}`);
  if (input.script) {
    containerSpec.Configs = [
      { File: { Name: input.script.path, UID: '0', GID: '0', Mode: 0o755 }, ConfigID: input.script.configId, ConfigName: input.script.configName },
    ];
  }
  const limits: Docker.ResourceLimits = {};
  if (spec.nanoCpus) limits.NanoCPUs = spec.nanoCpus;
  if (spec.memoryBytes) limits.MemoryBytes = spec.memoryBytes;
  if (spec.pidsLimit) limits.Pids = spec.pidsLimit;
  const taskTemplate: Docker.ContainerTaskSpec = {
    ContainerSpec: containerSpec,
    Resources: { Limits: limits },
    RestartPolicy: { Condition: restartConditionOf(spec.restart), Delay: input.restartDelayMs * NS_PER_MS, MaxAttempts: 0 },
    Placement: { Constraints: [...input.constraints] },
    // Bounded stored output, as the satellite does for the local backend.
    LogDriver: { Name: 'json-file', Options: { 'max-size': input.logs.maxSize, 'max-file': String(input.logs.maxFiles) } },
  };
  // No network given: the node's default bridge, as `docker run` does.
  if (input.networks) taskTemplate.Networks = input.networks.map((network) => ({ ...network }));
  else if (spec.network && spec.network !== 'bridge' && spec.network !== 'default') taskTemplate.Networks = [{ Target: spec.network }];
  return {
    Name: input.serviceName,
    Labels: labels,
    TaskTemplate: taskTemplate,
    Mode: input.mode.global ? { Global: {} } : { Replicated: { Replicas: input.mode.replicas } },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: spec.ports.map((port) => {
        const published: Docker.PortConfig = { Protocol: port.protocol, TargetPort: port.containerPort, PublishMode: 'host' };
        if (port.hostPort !== undefined) published.PublishedPort = port.hostPort;
        return published;
      }),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Placement

export interface SwarmPlacementInput {
  unitName: string;
  requirements: FleetRequirements;
  /** Every node of the Swarm, whatever its state (a node that is down now may come back). */
  nodes: readonly SwarmNode[];
  /** The metadata placement sees for a node (its labels, or edited metadata where the API has edits). */
  metadataOf: (node: SwarmNode) => Record<string, string>;
  /** The other units with a machine. */
  placed: readonly PlacedUnit[];
}

const PLAIN = /^[A-Za-z0-9_.-]+$/;

/**
 * Swarm placement constraints for the unit: the machines its rules allow (MachineID, MachineMetadata,
 * Conflicts, MachineOf; Replaces is only a preference and is left to Swarm) become node labels where
 * Swarm can say it directly (a single MachineMetadata value that is the node label everywhere), a
 * node id when the unit is pinned to one machine, and `node.id!=` for each node that the direct
 * constraints admit but the rules do not (multi-valued metadata, edited metadata, conflicts). Swarm
 * chooses among the allowed nodes and moves the task when its node is lost. The exclusions depend on
 * the nodes and on other units' machines: the backend recomputes them when those change.
 */
export function swarmConstraintsFor(input: SwarmPlacementInput): { constraints: string[] } | { reason: string } {
  const { requirements: req, nodes } = input;
  const machines: Machine[] = nodes.map((node) => ({ id: node.machineId, primaryIP: node.addr, metadata: input.metadataOf(node) }));
  const placed = placeUnit({
    unitName: input.unitName,
    requirements: { ...req, global: true, machineOf: [], replaces: [] },
    machines,
    placed: input.placed,
  });
  if ('reason' in placed) return placed;
  let allowed = new Set(placed.machineIds);
  for (const peer of req.machineOf) {
    const hosts = new Set(input.placed.filter((unit) => unit.name === peer).map((unit) => unit.machineId));
    if (hosts.size === 0) return { reason: `MachineOf unit ${peer} is not placed on any machine` };
    allowed = new Set([...allowed].filter((id) => hosts.has(id)));
    if (allowed.size === 0) return { reason: `the machine of MachineOf unit ${peer} is not eligible for ${input.unitName}` };
  }

  const constraints: string[] = [];
  const pinned = req.machineId !== undefined || req.machineOf.length > 0;
  if (pinned && allowed.size === 1) {
    const node = nodes.find((candidate) => allowed.has(candidate.machineId)) as SwarmNode;
    return { constraints: [`node.id==${node.nodeId}`] };
  }
  const labelRules: Array<[string, string]> = [];
  for (const [key, values] of Object.entries(req.metadata)) {
    const value = values[0];
    const direct = values.length === 1 && PLAIN.test(key) && PLAIN.test(value) && nodes.every((node) => node.labels[key] === input.metadataOf(node)[key]);
    if (direct) labelRules.push([key, value]);
  }
  for (const [key, value] of labelRules) constraints.push(`node.labels.${key}==${value}`);
  const admitted = nodes.filter((node) => labelRules.every(([key, value]) => node.labels[key] === value));
  for (const node of admitted) if (!allowed.has(node.machineId)) constraints.push(`node.id!=${node.nodeId}`);
  return { constraints };
}

// ---------------------------------------------------------------------------------------------
// Tasks → observations

/** The subset of the Engine API's Task object read here. */
export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  CreatedAt: string;
  Version?: { Index?: number };
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    /** Host-mode published ports of the task's container (the node chose those without PublishedPort). */
    PortStatus?: { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }> };
  };
}

export interface TaskView {
  observed: EngineObservation;
  /** The machine of the unit's current task; null when it has none (or a global unit). */
  machineId: string | null;
  /** That task's container id on its node; null when it has no container (yet). */
  container: string | null;
  /** Why that container cannot be read now (its node is not ready). */
  problem: string | null;
  /** Copies that may still run elsewhere (a node cut off keeps its copy until it reconnects). */
  notes: string[];
}

const BEFORE_RUNNING = new Set(['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);
const ALIVE = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);
const WANTED = new Set(['running', 'ready', 'accepted', 'assigned']);

function statusOfTask(task: SwarmTask): EngineStatus {
  const state = task.Status.State;
  if (BEFORE_RUNNING.has(state)) return 'created';
  switch (state) {
    case 'running':
      return 'running';
    case 'complete':
    case 'shutdown':
      return 'exited';
    case 'failed':
      return task.Status.ContainerStatus?.ContainerID ? 'exited' : 'dead';
    case 'rejected':
      return 'dead';
    case 'remove':
      return 'removing';
    default:
      return 'missing';
  }
}

const newestFirst = (a: SwarmTask, b: SwarmTask): number =>
  a.CreatedAt === b.CreatedAt ? (b.Version?.Index ?? 0) - (a.Version?.Index ?? 0) : a.CreatedAt < b.CreatedAt ? 1 : -1;

export interface TaskViewInput {
  tasks: readonly SwarmTask[];
  nodeOf: (nodeId: string) => SwarmNode | undefined;
  global: boolean;
  /** Restart condition none: a lost container is not run again. */
  ephemeral: boolean;
}

/**
 * What a service's tasks say about its unit. The current task is the newest one Swarm still wants
 * running (else the newest). A task whose node is not ready cannot be read: an ephemeral unit's
 * container is then lost (Swarm does not run it again); a permanent unit's is replaced elsewhere,
 * and until the old node reconnects its copy may still run there: that is reported as a note.
 */
export function viewOfTasks(input: TaskViewInput): TaskView {
  const now = new Date().toISOString();
  const tasks = [...input.tasks].sort(newestFirst);
  const nodeReady = (task: SwarmTask): boolean => {
    const node = task.NodeID ? input.nodeOf(task.NodeID) : undefined;
    return node === undefined || node.state === 'ready';
  };
  const nodeName = (task: SwarmTask): string => {
    const node = task.NodeID ? input.nodeOf(task.NodeID) : undefined;
    return node ? describeNode(node) : `node ${task.NodeID ?? '?'}`;
  };
  const nodeState = (task: SwarmTask): string => (task.NodeID ? input.nodeOf(task.NodeID)?.state : undefined) ?? 'unknown';
  const machineOf = (task: SwarmTask): string | null => (task.NodeID ? (input.nodeOf(task.NodeID)?.machineId ?? null) : null);

  if (input.global) {
    const wanted = tasks.filter((task) => WANTED.has(task.DesiredState));
    const running = wanted.find((task) => task.Status.State === 'running' && nodeReady(task));
    const failing = wanted.find((task) => task.Status.Err);
    const status: EngineStatus = running ? 'running' : wanted.length > 0 ? statusOfTask(wanted[0]) : 'missing';
    return {
      observed: { status, exitCode: null, error: running ? null : (failing?.Status.Err ?? null), observedAt: now },
      machineId: null,
      container: running?.Status.ContainerStatus?.ContainerID ?? null,
      problem: null,
      notes: [],
    };
  }

  const current = tasks.find((task) => WANTED.has(task.DesiredState)) ?? tasks[0];
  const notes: string[] = [];
  for (const task of tasks) {
    if (task === current || !ALIVE.has(task.Status.State)) continue;
    if (!nodeReady(task)) {
      notes.push(`${nodeName(task)} is ${nodeState(task)}: the copy that ran there (task ${task.ID.slice(0, 12)}) may still be running until the node reconnects and Swarm stops it`);
    } else if (task.Status.State === 'running' && !WANTED.has(task.DesiredState)) {
      notes.push(`${nodeName(task)} still runs an older copy (task ${task.ID.slice(0, 12)}); Swarm is stopping it`);
    }
  }
  if (!current) {
    return { observed: { status: 'missing', exitCode: null, error: null, observedAt: now, machineId: null }, machineId: null, container: null, problem: null, notes };
  }
  const machineId = machineOf(current);
  const container = current.Status.ContainerStatus?.ContainerID || null;
  if (!nodeReady(current) && (ALIVE.has(current.Status.State) || current.Status.State === 'orphaned')) {
    const lost = input.ephemeral
      ? `${nodeName(current)} is ${nodeState(current)}: the container is lost (an ephemeral container is not run again)`
      : `${nodeName(current)} is ${nodeState(current)}: Swarm will run the container again on another node`;
    return {
      observed: { status: 'missing', exitCode: null, error: lost, observedAt: now, machineId },
      machineId,
      container,
      problem: `${nodeName(current)} is ${nodeState(current)}; its containers cannot be read until it returns`,
      notes,
    };
  }
  let status = statusOfTask(current);
  // A replacement that is not running yet, after an earlier task ran: the unit is restarting.
  if (status === 'created' && tasks.some((task) => task !== current && task.Status.ContainerStatus?.ContainerID)) status = 'restarting';
  const exitCode = status === 'exited' || status === 'dead' ? (current.Status.ContainerStatus?.ExitCode ?? null) : null;
  const observed: EngineObservation = { status, exitCode, error: current.Status.Err || null, observedAt: now, machineId };
  // Host-mode ports are reached at the node that runs the task: the record follows a move.
  const node = current.NodeID ? input.nodeOf(current.NodeID) : undefined;
  if (status === 'running' && node) {
    const bindings = (current.Status.PortStatus?.Ports ?? []).map((p) => ({ port: p.TargetPort ?? 0, protocol: p.Protocol ?? 'tcp', ip: '', hostPort: p.PublishedPort ?? 0 }));
    const ports = publishedPortsOf(bindings, node.addr);
    if (ports.length > 0) observed.ports = ports;
  }
  return { observed, machineId, container, problem: null, notes };
}
