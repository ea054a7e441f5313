/**
 * Warm capacity on the swarm backend: one warm pool (warm-pool.ts) per schedulable node, each kept
 * by that node's satellite (satellite/warm-members.ts) and counted here. A fitting script run
 * reserves a member on the node with the most idle ones; its unit then runs there.
 *
 * Design: on Swarm every container is a service, but a warm member is a plain container that its
 * node's satellite started ahead of time: Swarm cannot adopt it as a task. A one-shot script run
 * needs nothing Swarm gives a service (it ends; it is never rescheduled), so a run taken from a
 * node's pool stays that node's plain container, read and removed through that node's satellite
 * (swarm-warm-backend.ts); permanent containers never fit a pool (their spec restarts) and stay
 * services. What a warm run loses against a cold one: nothing a user reads (stdout, state, changes,
 * files, archive, metrics behave the same); when its node is lost the run is lost with it, as a
 * cold one-shot task is (Swarm does not run it again either), and its state says so.
 *
 * Networks: on Swarm a container joins its owner's overlays (swarm-networks.ts), which a member,
 * belonging to nobody, cannot be on ahead of time. A class without `;network=none` keeps members on
 * their satellite's holding network (internal, no traffic between members: satellite/warm-networks.ts)
 * and serves `private` and `internet` runs: at the take the member joins the overlays a cold service
 * would be attached to (the shared one, and the egress one for `internet`), made first if they are
 * not there, and leaves the holding network, before the script starts. A `;network=none` class
 * serves `none` runs as it is: no network at all (a cold `none` service is alone on an internal
 * overlay of its own only because a service cannot use `none`). A run with a hostname runs cold: a
 * member's own name was fixed at its create (warm-pool.ts).
 *
 * The names of the members reserved and the runs taken are kept per node; after an API restart the
 * runs are found again by listing every node's members (start()).
 *
 * Functions' own capacity (api/functions/capacity.ts, a DedicatedPool): a function's members are
 * spread over the schedulable nodes (swarm-warm-choice.ts), each node's pool keeping its share as a
 * dedicated pool of the function's tag, spread again when nodes come and go. An invocation's take
 * goes to a node with an idle member of its function's tag, else to a shared class's member on any
 * node, else it runs cold (a service). Among nodes with as many idle members, takes go round-robin.
 */
import type { ContainerSpec } from '../../common/container-spec';
import { LABELS } from '../../common/labels';
import type { Logger } from '../../common/logger';
import type { ContainerInspection, WarmTakeRequest } from '../../common/satellite-protocol';
import type { Leadership } from './leadership';
import type { Workload } from './model';
import { overlayPlanFor, type OverlayPlan, type SwarmNetworks } from './swarm-networks';
import { describeNode, isSchedulable, type SwarmNode, type SwarmNodes } from './swarm-nodes';
import { rankTakeCandidates, spreadCapacity } from './swarm-warm-choice';
import { dedicatedMembersOn, WarmPool, type DedicatedMembers, type WarmAgent, type WarmClass } from './warm-pool';
import type { WarmReservation } from './warm-capacity';

/** What a node's satellite must do for its pool and for the runs taken from it. */
export interface SwarmWarmAgent extends WarmAgent {
  inspect(name: string): Promise<ContainerInspection | null>;
  stop(name: string, timeoutSeconds: number): Promise<void>;
}

export interface SwarmWarmPoolsOptions {
  nodes: SwarmNodes;
  /** The satellite of a node (by machine id). */
  agentFor(machineId: string): SwarmWarmAgent;
  classes: WarmClass[];
  /** The limits a run without its own gets (the installation's). */
  defaults: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number };
  instanceLabel: string;
  isTaken(engineName: string): Promise<boolean>;
  minAvailableBytes: number;
  /** How often each node's pool checks its members, and how often the node list is compared (default 2 s). */
  tickMs?: number;
  /**
   * How long a node's satellite may take to list its members for a capacity read (a function's
   * GET) before that node counts for nothing (default 3 s): one unreachable satellite on a node
   * Swarm still calls ready must not hold every read up for the whole satellite timeout.
   */
  listTimeoutMs?: number;
  logger: Logger;
  /** The pools fill and hand out members only while this replica leads (default: always). */
  leadership?: Leadership;
  /** Users' overlays (the swarm backend's): a take makes the run's if they are not there yet. */
  overlays: Pick<SwarmNetworks, 'withOverlays'>;
}

/**
 * The overlays a run on its owner's network joins at the take (those a cold service of it would be
 * attached to), or null: a `none` run, or one on no user's network, joins nothing.
 */
export function overlayJoinsOf(spec: ContainerSpec): { plan: OverlayPlan; joins: Required<Pick<WarmTakeRequest, 'networks' | 'overlays'>> } | null {
  if (spec.network === 'none') return null;
  const plan = overlayPlanFor(spec);
  if (!plan) return null;
  const networks = plan.attachments.map((a) => (a.Aliases && a.Aliases.length > 0 ? { name: a.Target as string, aliases: a.Aliases } : { name: a.Target as string }));
  return { plan, joins: { networks, overlays: true } };
}


export interface SwarmWarmStatus {
  machineId: string;
  hostname: string;
  image: string;
  key: string;
  size: number;
  idle: number;
  creating: number;
}

const memberName = (id: string): string => `boatload-${id}`;

export class SwarmWarmPools {
  private readonly pools = new Map<string, { node: SwarmNode; pool: WarmPool }>();
  /** Engine name → machine id: members reserved for a run not started yet. */
  private readonly reserved = new Map<string, string>();
  /** Engine name → machine id: runs taken from a pool (plain containers on that node). */
  private readonly runs = new Map<string, string>();
  /** Functions' capacity by tag: the template and the size over all nodes (spread by spread()). */
  private readonly dedicated = new Map<string, { template: ContainerSpec; size: number }>();
  /** Whether a function was ever given capacity here (its members may have joined overlays). */
  private keptDedicated = false;
  /** The node the last take of each kind (a function's tag, or the classes) went to: tied nodes take turns. */
  private readonly lastTaken = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: SwarmWarmPoolsOptions) {}

  /** Idle members and members being made, per node and class. */
  status(): SwarmWarmStatus[] {
    return [...this.pools.values()].flatMap(({ node, pool }) => pool.status().map((s) => ({ machineId: node.machineId, hostname: node.hostname, ...s })));
  }

  /**
   * Reserves an idle member for a run whose container would be `spec`: with `tag` (a function's
   * invocation), one of that function's own on a node that has one idle; else a shared class's, on
   * the node with the most idle ones (ties take turns). The container id the run must use, or null.
   */
  reserve(spec: ContainerSpec, reservation: WarmReservation = {}): string | null {
    if (this.closed) return null;
    const { tag } = reservation;
    const live = [...this.pools.values()].filter(({ node }) => isSchedulable(this.options.nodes.byMachineId(node.machineId) ?? node));
    const passes: Array<{ tag: string | undefined; kind: string; idle(pool: WarmPool): number }> = [];
    if (tag !== undefined) passes.push({ tag, kind: `tag:${tag}`, idle: (pool) => pool.dedicatedStatus(tag)?.idle ?? 0 });
    passes.push({ tag: undefined, kind: 'classes', idle: (pool) => pool.status().reduce((sum, s) => sum + s.idle, 0) });
    for (const pass of passes) {
      const ranked = rankTakeCandidates(
        live.map((entry) => ({ machineId: entry.node.machineId, idle: pass.idle(entry.pool), entry })),
        this.lastTaken.get(pass.kind) ?? null,
      );
      for (const { entry } of ranked) {
        // The tag's pass takes the function's own members only: the classes' pass ranks the nodes for those.
        const id = entry.pool.reserve(spec, { ...reservation, tag: pass.tag, shared: pass.tag === undefined });
        if (id) {
          this.reserved.set(memberName(id), entry.node.machineId);
          this.lastTaken.set(pass.kind, entry.node.machineId);
          return id;
        }
      }
    }
    return null;
  }

  /**
   * Keeps `size` members of `template` for `tag` alone (a function's capacity), spread over the
   * schedulable nodes: each node's pool keeps its share.
   */
  setDedicated(tag: string, template: ContainerSpec, size: number): void {
    if (this.closed) return;
    this.dedicated.set(tag, { template, size });
    if (size > 0) this.keptDedicated = true;
    this.spread(tag);
  }

  /** Forgets `tag`'s capacity on every node (its idle members go). */
  dropDedicated(tag: string): void {
    this.dedicated.delete(tag);
    this.lastTaken.delete(`tag:${tag}`);
    for (const { pool } of this.pools.values()) pool.dropDedicated(tag);
  }

  dedicatedTags(): string[] {
    return [...this.dedicated.keys()];
  }

  /** Whether runs may have joined users' overlays from here: a class keeps members, or a function kept some. */
  joinsOverlays(): boolean {
    return this.options.classes.length > 0 || this.keptDedicated;
  }

  /**
   * Every function's members on the ready nodes' engines, by tag, summed over the nodes: read from
   * each node's satellite, as any replica (leading or not) reads them. A node whose satellite does
   * not answer (within listTimeoutMs) counts for nothing.
   */
  async dedicatedMembers(): Promise<Map<string, DedicatedMembers>> {
    const nodes = (await this.options.nodes.list()).filter((node) => node.state === 'ready');
    const perNode = await Promise.all(
      nodes.map((node) =>
        dedicatedMembersOn({
          agent: this.options.agentFor(node.machineId),
          instanceLabel: this.options.instanceLabel,
          isTaken: (name) => this.options.isTaken(name),
          listTimeoutMs: this.options.listTimeoutMs ?? 3000,
        }).catch((err: Error) => {
          this.options.logger.warn(`functions' members on ${describeNode(node)} not listed: ${err.message}`);
          return new Map<string, DedicatedMembers>();
        }),
      ),
    );
    const total = new Map<string, DedicatedMembers>();
    for (const counts of perNode) {
      for (const [tag, { idle, creating }] of counts) {
        const sum = total.get(tag) ?? { idle: 0, creating: 0 };
        total.set(tag, { idle: sum.idle + idle, creating: sum.creating + creating });
      }
    }
    return total;
  }

  /** Sets each node's share of the tags' capacity (every tag when none is named). */
  private spread(only?: string): void {
    const machineIds = [...this.pools.keys()];
    for (const [tag, { template, size }] of this.dedicated) {
      if (only !== undefined && tag !== only) continue;
      const shares = spreadCapacity(size, machineIds, tag);
      for (const [machineId, { pool }] of this.pools) pool.setDedicated(tag, template, shares.get(machineId) ?? 0);
    }
  }

  release(id: string): void {
    const name = memberName(id);
    const machineId = this.reserved.get(name);
    this.reserved.delete(name);
    if (machineId) this.pools.get(machineId)?.pool.release(id);
  }

  /** The node of a reserved member or of a run taken from a pool (by engine name), if it is one. */
  machineOf(engineName: string): { machineId: string; taken: boolean } | null {
    const run = this.runs.get(engineName);
    if (run) return { machineId: run, taken: true };
    const reserved = this.reserved.get(engineName);
    return reserved ? { machineId: reserved, taken: false } : null;
  }

  /** The runs taken from the pools: engine name → machine id. */
  takenRuns(): ReadonlyMap<string, string> {
    return this.runs;
  }

  /** Forgets a run (its container was removed, or it is run again as a service). */
  forget(engineName: string): void {
    this.runs.delete(engineName);
  }

  /**
   * Starts the workload in the member reserved for it: its node and inspection, or null (no
   * reservation, or the member could not be taken: the caller runs it cold).
   */
  async take(workload: Workload): Promise<{ machineId: string; inspection: ContainerInspection } | null> {
    const name = workload.spec.name;
    const machineId = this.reserved.get(name);
    if (!machineId) return null;
    // The reservation stays until the take ends: a read meanwhile finds the member on its node.
    try {
      return await this.takeReserved(workload, machineId);
    } finally {
      this.reserved.delete(name);
    }
  }

  private async takeReserved(workload: Workload, machineId: string): Promise<{ machineId: string; inspection: ContainerInspection } | null> {
    const name = workload.spec.name;
    const entry = this.pools.get(machineId);
    if (!entry) {
      // Its node's pool closed meanwhile (the node went down or was drained): the run goes cold.
      // A node that is down keeps it until its next pool removes what no run started in.
      if (this.options.nodes.byMachineId(machineId)?.state === 'ready') await this.options.agentFor(machineId).remove(name).catch(() => undefined);
      return null;
    }
    const started = Date.now();
    const overlays = overlayJoinsOf(workload.spec);
    if (overlays) {
      // The overlays exist before the take joins them (the first run of a user makes them). The
      // take itself runs outside their lock: a sweep removing them meanwhile (no service uses them,
      // made over its grace ago) fails the join, and the run goes cold, making them again.
      const made = await this.options.overlays.withOverlays(overlays.plan, workload.spec.labels, async () => true).catch((err: Error) => {
        this.options.logger.warn(`${name}: overlays not made (${err.message}); the run starts cold`);
        return false;
      });
      if (!made) {
        // The member goes (never handed out again) and the run is a service.
        entry.pool.release(name.replace(/^boatload-/, ''));
        return null;
      }
    }
    const madeAt = Date.now();
    const inspection = await entry.pool.take(workload, overlays?.joins);
    if (!inspection) return null;
    this.options.logger.debug(`${name} taken on ${entry.node.hostname}: overlays ready in ${madeAt - started} ms, take in ${Date.now() - madeAt} ms`);
    this.runs.set(name, machineId);
    return { machineId, inspection };
  }

  /** Node by node: removes what an earlier API left, finds its runs again, then fills and keeps filling. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => this.syncLater(), this.options.tickMs ?? 2000);
    this.timer.unref();
    this.syncing = this.sync();
    await this.syncing;
  }

  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.settled()));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.syncing) await this.syncing;
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close()));
    this.pools.clear();
  }

  private syncLater(): void {
    if (this.syncing || this.closed) return;
    this.syncing = this.sync();
  }

  /** A pool for every schedulable node; a node that left, went down or was drained loses its pool. */
  private async sync(): Promise<void> {
    try {
      const nodes = await this.options.nodes.list();
      const wanted = new Map(nodes.filter(isSchedulable).map((node) => [node.machineId, node]));
      let changed = false;
      for (const [machineId, { node, pool }] of this.pools) {
        const now = wanted.get(machineId);
        if (now && now.addr === node.addr) continue;
        this.pools.delete(machineId);
        changed = true;
        this.options.logger.info(`warm pool of ${describeNode(node)} closed (the node is ${now ? 'at a new address' : 'not schedulable'})`);
        // Its idle members on a node that is down stay until the node's next pool removes them.
        await pool.close();
      }
      const added = [...wanted.values()].filter((node) => !this.pools.has(node.machineId));
      const made = this.closed ? [] : added.map((node) => this.addPool(node));
      // Functions' capacity over the nodes there now (before the new pools first fill): a node
      // that came takes its share, the shares of a node that went move to the others.
      if (made.length > 0 || changed) this.spread();
      await Promise.all(made.map((start) => start()));
    } catch (err) {
      this.options.logger.warn(`warm pools: node sync failed: ${(err as Error).message}`);
    } finally {
      this.syncing = null;
    }
  }

  /** Makes a node's pool (counted from now on) and answers how to start it. */
  private addPool(node: SwarmNode): () => Promise<void> {
    const agent = this.options.agentFor(node.machineId);
    const pool = new WarmPool(
      {
        agent,
        classes: this.options.classes,
        minAvailableBytes: this.options.minAvailableBytes,
        instanceLabel: this.options.instanceLabel,
        isTaken: (engineName) => this.options.isTaken(engineName),
        tickMs: this.options.tickMs,
        logger: this.options.logger.child(node.hostname),
        leadership: this.options.leadership,
      },
      this.options.defaults,
    );
    this.pools.set(node.machineId, { node, pool });
    return async () => {
      // The runs an earlier API took from this node's pool (members a unit started in).
      try {
        const members = await agent.list([this.options.instanceLabel, LABELS.warmPool]);
        for (const member of members) if (await this.options.isTaken(member.name)) this.runs.set(member.name, node.machineId);
      } catch (err) {
        this.options.logger.warn(`warm pool of ${describeNode(node)}: members not listed: ${(err as Error).message}`);
      }
      await pool.start();
    };
  }
}
