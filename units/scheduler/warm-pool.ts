/**
 * Warm capacity for the local backend: per image and resource class, a few containers created and
 * started ahead of time on this host, each blocked in a waiter (satellite/warm-members.ts). A script
 * run whose container would be exactly a member's (same image, limits, network, mounts: everything
 * but its name, command, variables and labels) reserves one when its record is made and takes it
 * when the scheduler creates its container; the pool refills in the background. A member serves one
 * run and goes with that run's container; it is never handed out twice.
 *
 * Members belong to nobody until taken (no record, no quota); they carry this installation's label
 * and the pool label, so that a restarted API finds the ones no run started in and removes them
 * (before it reconciles units and fills the pool again). When the host's available memory is under the
 * minimum, the pool stops refilling and removes idle members, one per tick.
 *
 * Besides the installation's classes, a pool may be dedicated to one tag (a function's warm
 * capacity, api/functions/capacity.ts): its template and size are set and changed at run time, and
 * only a reservation that names the tag takes from it (before the shared classes).
 */
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { emptySpec, type ContainerSpec } from '../../common/container-spec';
import { LABELS } from '../../common/labels';
import type { Logger } from '../../common/logger';
import { hostnameOf, userNetworkNames, WARM_HOLDING } from '../../common/network-model';
import type { ContainerInspection, ContainerSummary, HostMemory, WarmCreateRequest, WarmNetwork, WarmTakeRequest } from '../../common/satellite-protocol';
import { containerSpecFromUnit, renderContainerUnit } from '../container-unit';
import type { Leadership } from './leadership';
import type { WarmReservation } from './warm-capacity';
import type { Workload } from './model';

/** What the pool needs of the host's satellite. */
export interface WarmAgent {
  createWarm(request: WarmCreateRequest): Promise<ContainerInspection>;
  takeWarm(name: string, request: WarmTakeRequest): Promise<ContainerInspection>;
  hostMemory(): Promise<HostMemory>;
  /** `timeoutMs`: a bound of its own for this read (default: the agent's). */
  list(labelFilters: string[], options?: { timeoutMs?: number }): Promise<ContainerSummary[]>;
  remove(name: string): Promise<void>;
}

/** One pool: its image and limits (unset: the installation's defaults) and how many members it keeps. */
export interface WarmClass {
  image: string;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /**
   * `none`: members without a network, for runs that ask for none. Without it members wait on the
   * satellite's holding network (on no user's network, reaching nothing) and serve `private` and
   * `internet` runs: the take joins them to their owner's networks (satellite/warm-networks.ts).
   */
  network?: 'none';
  size: number;
}

export interface WarmPoolOptions {
  agent: WarmAgent;
  classes: WarmClass[];
  /** `key=value` carried by everything this installation creates. */
  instanceLabel: string;
  /**
   * Whether a run started in the member of this engine name (its unit recorded the start). A member
   * whose run never started there (the API stopped in between) is removed; its unit then starts cold.
   */
  isTaken(engineName: string): Promise<boolean>;
  /** Under this much available host memory the pool shrinks instead of refilling. */
  minAvailableBytes: number;
  /**
   * Members are made and handed out only while this replica leads (default: always, one API
   * process): with several replicas, the leader's pool is the only one, so that no replica's start-up
   * removes another's members as leftovers. Runs that reach another replica start cold.
   */
  leadership?: Leadership;
  /** How often the pool checks the host's memory and its members (default 2 s). */
  tickMs?: number;
  logger: Logger;
}

/**
 * The networks a cold create of `spec` joins, in order (satellite/user-networks.ts): its user's
 * shared network with its hostname as alias, then for `internet` the egress one; none for others.
 */
export function joinsOf(spec: ContainerSpec): WarmNetwork[] {
  const names = spec.network === undefined ? null : userNetworkNames(spec.network);
  if (!names) return [];
  const alias = hostnameOf(spec.labels);
  const joins: WarmNetwork[] = [alias ? { name: names.shared, aliases: [alias] } : { name: names.shared }];
  if (spec.labels[LABELS.network] === 'internet') joins.push({ name: names.egress });
  return joins;
}

/** A member's engine name has the shape of a container's (`boatload-<32 hex>`): a run keeps it. */
const MEMBER_NAME = /^boatload-([0-9a-f]{32})$/;
/** How long after a reservation the refill starts: refillSoon(). */
const REFILL_DELAY_MS = 200;

/**
 * What decides whether a run fits a pool: the spec but for name, command, variables and labels,
 * read back from its unit options (the form the scheduler's workload has), keys sorted. Any user's
 * network counts as the holding network: members join their owner's at the take, in either mode.
 */
export function warmClassKey(spec: ContainerSpec): string {
  const parsed = containerSpecFromUnit(renderContainerUnit({ spec, description: 'warm class' }), `${spec.name}.service`);
  const rest: Record<string, unknown> = { ...parsed };
  for (const key of ['name', 'cmd', 'env', 'labels']) delete rest[key];
  if (parsed.network !== undefined && userNetworkNames(parsed.network) !== null) rest.network = WARM_HOLDING;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

interface Pool {
  /** null: an installation class, shared by every fitting run; else the one tag it serves. */
  tag: string | null;
  key: string;
  template: ContainerSpec;
  size: number;
  idle: string[];
  creating: number;
}

/** A dedicated pool's members: idle ones, ones being made, and the size it is kept at. */
export interface DedicatedStatus {
  idle: number;
  creating: number;
  size: number;
}

/** A dedicated pool's members as the engine shows them (any replica reads the same). */
export interface DedicatedMembers {
  idle: number;
  creating: number;
}

/**
 * The dedicated pools' members on one engine (its satellite's), by tag: running ones no run started
 * in are idle, ones not yet started are being made. Reads only the engine, so any replica answers
 * the same, whoever made them.
 */
export async function dedicatedMembersOn(input: { agent: Pick<WarmAgent, 'list'>; instanceLabel: string; isTaken: (engineName: string) => Promise<boolean>; listTimeoutMs?: number }): Promise<Map<string, DedicatedMembers>> {
  const equals = input.instanceLabel.indexOf('=');
  const instance = { key: input.instanceLabel.slice(0, equals), value: input.instanceLabel.slice(equals + 1) };
  const members = await input.agent.list([input.instanceLabel, LABELS.warmTag], input.listTimeoutMs === undefined ? undefined : { timeoutMs: input.listTimeoutMs });
  const byTag = new Map<string, DedicatedMembers>();
  for (const member of members) {
    const tag = member.labels[LABELS.warmTag];
    if (tag === undefined || member.labels[instance.key] !== instance.value) continue;
    const counts = byTag.get(tag) ?? { idle: 0, creating: 0 };
    if (member.state === 'created') counts.creating++;
    else if (member.state === 'running' && !(await input.isTaken(member.name))) counts.idle++;
    byTag.set(tag, counts);
  }
  return byTag;
}

export class WarmPool {
  private pools: Pool[];
  /** Members reserved for a run not started yet, by engine name: what the run asked for. */
  private readonly reserved = new Map<string, WarmReservation>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private memoryShort = false;
  /** Whether this replica led at the last look, and the changes of leader seen then (a change removes members: kick()). */
  private leading = false;
  private changes = 0;
  private seenChanges = 0;
  private refillTimer: NodeJS.Timeout | null = null;
  /** Refills that failed in a row, and when the next may start (back-off: fill()). */
  private failures = 0;
  private retryAt = 0;
  private unsubscribe: (() => void) | null = null;
  private readonly instance: { key: string; value: string };

  constructor(
    private readonly options: WarmPoolOptions,
    /** The defaults a run without limits of its own gets (the installation's). */
    defaults: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number },
  ) {
    const equals = options.instanceLabel.indexOf('=');
    this.instance = { key: options.instanceLabel.slice(0, equals), value: options.instanceLabel.slice(equals + 1) };
    this.pools = options.classes.map((cls) => {
      const template = emptySpec('boatload-pool', cls.image);
      template.memoryBytes = cls.memoryBytes ?? defaults.memoryBytes;
      template.nanoCpus = cls.nanoCpus ?? defaults.nanoCpus;
      template.pidsLimit = cls.pidsLimit ?? defaults.pidsLimit;
      template.network = cls.network ?? WARM_HOLDING;
      return { tag: null, key: warmClassKey(template), template, size: cls.size, idle: [], creating: 0 };
    });
  }

  /** Idle members and members being made, per class key (for tests and the bench). */
  status(): Array<{ image: string; key: string; size: number; idle: number; creating: number }> {
    return this.pools.filter((p) => p.tag === null).map((p) => ({ image: p.template.image, key: p.key, size: p.size, idle: p.idle.length, creating: p.creating }));
  }

  /**
   * Keeps `size` members of `template` for `tag` alone (a function's capacity). A changed template
   * replaces the pool; a smaller size removes the idle members over it at once.
   */
  setDedicated(tag: string, template: ContainerSpec, size: number): void {
    if (this.closed) return;
    const key = warmClassKey(template);
    let pool = this.pools.find((p) => p.tag === tag);
    if (pool && pool.key !== key) {
      this.dropDedicated(tag);
      pool = undefined;
    }
    if (!pool) {
      const network = template.network !== undefined && userNetworkNames(template.network) !== null ? WARM_HOLDING : template.network;
      pool = { tag, key, template: { ...template, name: 'boatload-pool', cmd: undefined, env: {}, labels: {}, network }, size, idle: [], creating: 0 };
      this.pools = [...this.pools, pool];
    }
    pool.size = size;
    for (const name of pool.idle.splice(size)) this.removeMember(name);
    this.kick();
  }

  /** Forgets `tag`'s pool and removes its idle members (members being made go when they are ready). */
  dropDedicated(tag: string): void {
    const pool = this.pools.find((p) => p.tag === tag);
    if (!pool) return;
    this.pools = this.pools.filter((p) => p !== pool);
    pool.size = 0;
    for (const name of pool.idle.splice(0)) this.removeMember(name);
  }

  /** `tag`'s pool now, or null when it has none. */
  dedicatedStatus(tag: string): DedicatedStatus | null {
    const pool = this.pools.find((p) => p.tag === tag);
    return pool ? { idle: pool.idle.length, creating: pool.creating, size: pool.size } : null;
  }

  /** The tags this pool keeps dedicated pools for. */
  dedicatedTags(): string[] {
    return this.pools.flatMap((p) => (p.tag === null ? [] : [p.tag]));
  }

  /**
   * Every dedicated pool's members on the engine, by tag, whoever made them (the leader): running
   * ones no run started in are idle, ones not yet started are being made. Answers the same on every
   * replica, leading or not.
   */
  dedicatedMembers(): Promise<Map<string, DedicatedMembers>> {
    return dedicatedMembersOn({ agent: this.options.agent, instanceLabel: this.options.instanceLabel, isTaken: (name) => this.options.isTaken(name) });
  }

  /**
   * Reserves an idle member for a run whose container would be `spec` (a script run without data),
   * answering the container id the run must use (the member's), or null when none fits or is idle.
   */
  reserve(spec: ContainerSpec, reservation: WarmReservation = {}): string | null {
    const { tag } = reservation;
    if (this.closed || this.pools.length === 0 || !this.leads()) return null;
    // A hostname is the container's own (its UTS name), fixed when the engine creates it: cold.
    if (hostnameOf(spec.labels) !== undefined) return null;
    const key = warmClassKey(spec);
    // The tag's own pool first, then a shared class.
    const pool = [this.pools.find((p) => p.tag === tag && tag !== undefined), reservation.shared === false ? undefined : this.pools.find((p) => p.tag === null && p.key === key)].find(
      (p) => p !== undefined && p.key === key && p.idle.length > 0,
    );
    const name = pool?.idle.shift();
    if (!pool || !name) return null;
    this.reserved.set(name, reservation);
    this.refillSoon();
    return (MEMBER_NAME.exec(name) as RegExpExecArray)[1];
  }

  /** Gives back a reservation that no run used (the request failed before its container was made). */
  release(id: string): void {
    const name = `boatload-${id}`;
    if (!this.reserved.delete(name)) return;
    this.removeMember(name);
  }

  /**
   * Starts the workload in the member reserved for it; null when there is none (the caller creates
   * the container cold). A member that cannot be taken is removed, and the run goes cold. `joins`:
   * the networks to join instead of joinsOf's, and how (the swarm pools': the Swarm's overlays).
   */
  async take(workload: Workload, joins?: Pick<WarmTakeRequest, 'networks' | 'overlays'>): Promise<ContainerInspection | null> {
    const name = workload.spec.name;
    const reservation = this.reserved.get(name);
    if (!reservation) return null;
    this.reserved.delete(name);
    const script = workload.script;
    const cmd = workload.spec.cmd ?? [];
    if (!script || cmd[0] !== script.path || workload.data) {
      await this.options.agent.remove(name).catch(() => undefined);
      return null;
    }
    try {
      const request: WarmTakeRequest = { script, args: cmd.slice(1), env: workload.spec.env, networks: joinsOf(workload.spec), ...joins };
      if (reservation.report) request.report = reservation.report;
      return await this.options.agent.takeWarm(name, request);
    } catch (err) {
      this.options.logger.warn(`warm member ${name} could not be taken (${(err as Error).message}); the run starts cold`);
      await this.options.agent.remove(name).catch(() => undefined);
      return null;
    }
  }

  /**
   * Removes the members a previous API left that no run started in (answers once they are gone:
   * reconcile units after that), then fills the pools and keeps them filled in the background.
   * Only while this replica leads: one that does not lead keeps no members and removes none (the
   * leader's are in use); one that loses the lead removes its idle members, and one that comes to
   * lead first removes every member no run started in (the old leader's), then fills.
   */
  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.options.tickMs ?? 2000);
    this.timer.unref();
    if (this.leads()) {
      this.leading = true;
      this.running = this.removeLeftovers().catch((err: Error) => this.options.logger.warn(`warm pool: leftovers not removed: ${err.message}`));
      await this.running;
      this.running = null;
    }
    if (this.closed) return;
    // A change of leader acts at once, not at the next tick; each one counts, so that a flap
    // (the lead lost and back between two looks) is seen too.
    this.unsubscribe =
      this.options.leadership?.subscribe(() => {
        this.changes++;
        this.kick();
      }) ?? null;
    this.seenChanges = this.changes;
    this.kick();
  }

  /** Waits for the refill under way (tests). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops refilling and removes the idle members (a crash leaves them for the next start to remove). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    if (this.refillTimer) clearTimeout(this.refillTimer);
    await this.settled();
    await this.removeIdle();
  }

  private async removeIdle(): Promise<void> {
    const idle = this.pools.flatMap((p) => p.idle.splice(0));
    await Promise.all(idle.map((name) => this.options.agent.remove(name).catch(() => undefined)));
  }

  private leads(): boolean {
    return this.options.leadership?.isLeader() ?? true;
  }

  /**
   * A refill a moment from now, not at once: the member just reserved is starting its run, and on a
   * host of few cores the engine making its replacement competes with that run (measured with two
   * cores: a warm `internet` run 0.91-1.01x `docker run` with the refill at once, 0.59x with it
   * 200 ms later; invokes/s at concurrency 8 up from ~7 to ~8).
   */
  private refillSoon(): void {
    if (this.refillTimer) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.kick();
    }, REFILL_DELAY_MS);
    this.refillTimer.unref();
  }

  private kick(): void {
    // Not before start(): its removal of leftovers would take members made before it.
    if (this.closed || this.running || this.timer === null) return;
    const leads = this.leads();
    if (leads !== this.leading || this.changes !== this.seenChanges) {
      this.leading = leads;
      this.seenChanges = this.changes;
      this.options.logger.info(leads ? 'warm pool: this replica leads: removing members no run started in, then filling' : 'warm pool: this replica no longer leads: removing its idle members');
      // Leading (again): its own idle members may be gone (another leader removed them), and are
      // among the members no run started in anyway.
      if (leads) for (const pool of this.pools) pool.idle.splice(0);
      this.running = (leads ? this.removeLeftovers() : this.removeIdle())
        .catch((err: Error) => this.options.logger.warn(`warm pool: members not removed: ${err.message}`))
        .finally(() => {
          this.running = null;
          this.kick();
        });
      return;
    }
    if (!leads || Date.now() < this.retryAt) return;
    // Nothing kept (no class, no function with capacity): nothing to ask the host. (Checked here:
    // a fill() that ended before its first await would clear `running` before it is set.)
    if (this.pools.every((p) => p.size === 0 && p.idle.length === 0)) return;
    this.running = this.fill();
  }

  private async removeLeftovers(): Promise<void> {
    const members = await this.options.agent.list([this.options.instanceLabel, LABELS.warmPool]);
    for (const member of members) {
      if (member.labels[this.instance.key] !== this.instance.value || (await this.options.isTaken(member.name))) continue;
      // Gone already (the old leader removing its own at the same time) is as good.
      if (!(await this.options.agent.remove(member.name).then(() => true, () => false))) continue;
      this.options.logger.info(`warm pool: removed idle member ${member.name} left by an earlier start or leader`);
    }
  }

  /** One pass: shrink when memory is short, else create members until every pool is full. */
  private async fill(): Promise<void> {
    try {
      const { availableBytes } = await this.options.agent.hostMemory();
      const short = availableBytes < this.options.minAvailableBytes;
      if (short !== this.memoryShort) this.options.logger.warn(short ? `warm pool: host memory is short (${availableBytes} bytes available): shrinking` : 'warm pool: host memory recovered: refilling');
      this.memoryShort = short;
      if (short) {
        const pool = this.pools.find((p) => p.idle.length > 0);
        const name = pool?.idle.pop();
        if (name) await this.options.agent.remove(name).catch(() => undefined);
        return;
      }
      // Dedicated pools come, go and change size meanwhile: look again after every member.
      for (;;) {
        const pool = this.pools.find((p) => p.idle.length + p.creating < p.size);
        if (!pool || this.closed || !this.leads()) break;
        await this.createMember(pool);
      }
      if (this.failures > 0) this.options.logger.info('warm pool: refilling again');
      this.failures = 0;
    } catch (err) {
      // Backs off while the host refuses (a satellite without a script directory, an image gone):
      // 2 s doubling to 64 s between tries, one warning per try.
      this.failures++;
      this.retryAt = Date.now() + Math.min(2000 * 2 ** (this.failures - 1), 64_000);
      this.options.logger.warn(`warm pool: refill failed (${this.failures} in a row; next try in ${Math.round((this.retryAt - Date.now()) / 1000)} s): ${(err as Error).message}`);
    } finally {
      this.running = null;
      // A change of leader during the fill is acted on now (kick() skipped it while this ran).
      if (this.changes !== this.seenChanges) this.kick();
    }
  }

  private async createMember(pool: Pool): Promise<void> {
    const name = `boatload-${randomBytes(16).toString('hex')}`;
    const labels: Record<string, string> = { [this.instance.key]: this.instance.value, [LABELS.warmPool]: pool.key };
    if (pool.tag !== null) labels[LABELS.warmTag] = pool.tag;
    const spec: ContainerSpec = { ...pool.template, name, labels };
    pool.creating++;
    try {
      await this.options.agent.createWarm({ spec });
      // Closed, dropped or shrunk while it was being made: not wanted any more.
      if (this.closed || !this.leads() || !this.pools.includes(pool) || pool.idle.length >= pool.size) await this.options.agent.remove(name).catch(() => undefined);
      else pool.idle.push(name);
    } finally {
      pool.creating--;
    }
  }

  private removeMember(name: string): void {
    this.options.agent.remove(name).catch((err: Error) => this.options.logger.warn(`warm pool: ${name} not removed: ${err.message}`));
  }
}
