/**
 * A function's warm capacity: members of the warm pool made for that function alone, from its
 * definition (image, limits, network). Kept at `min_warm` while the function is idle, at `max_warm`
 * from an invocation until `idle_timeout` seconds pass without one; then back to `min_warm`, which
 * may be zero. The pool (units/scheduler/warm-pool.ts; on swarm one per node, the members spread
 * over them: swarm-warm.ts) makes and removes the members; this decides their number.
 *
 * Everything it decides from is in the store, shared by the API replicas (issue 17): the
 * definitions and the invocations (in flight, and when the last one began or ended). The leader,
 * whoever it is, sets every function's pool from them on every tick, from the moment it takes the
 * lead; a replica that does not lead sets none (its pool makes nothing). The view is the store's
 * target beside the members the engine shows, so every replica answers the same.
 */
import type { ContainerSpec } from '../../common/container-spec';
import type { Logger } from '../../common/logger';
import type { DedicatedMembers } from '../../units/scheduler/warm-pool';
import type { Leadership } from '../../units/scheduler/leadership';
import type { FunctionDefinition, FunctionRecord, FunctionRepository } from '../store/functions';
import { functionKey, type FunctionActivity, type FunctionInvocationRepository } from '../store/function-invocations';

/**
 * What capacity needs of the warm pool (null: a backend without one): the local host's pool, or the
 * Swarm nodes' pools, which spread each function's members over the nodes (swarm-warm.ts).
 */
export interface DedicatedPool {
  setDedicated(tag: string, template: ContainerSpec, size: number): void;
  dropDedicated(tag: string): void;
  dedicatedTags(): string[];
  dedicatedMembers(): Promise<Map<string, DedicatedMembers>>;
}

export interface CapacityView {
  /** `warm`: an idle member waits; `warming`: members are being made; `cold`: an invocation now starts a container. */
  state: 'cold' | 'warming' | 'warm';
  warm: number;
  warming: number;
  /** How many members are kept now (min_warm, or max_warm after an invocation until idle_timeout). */
  target: number;
}

export interface FunctionCapacityOptions {
  pool: DedicatedPool | null;
  functions: FunctionRepository;
  invocations: FunctionInvocationRepository;
  /** Only the leader sets the pools (one API process on SQLite always leads). */
  leadership: Leadership;
  /** The engine spec of the function's members, or null when its invocations cannot run warm. */
  templateOf(record: FunctionRecord): ContainerSpec | null;
  /** How often the leader sets the pools from the store (default 1 s). */
  tickMs?: number;
  now?: () => number;
  logger: Logger;
}

const SWEEP_INTERVAL_MS = 60_000;

export const capacityTag = (owner: string, name: string): string => `function:${owner}/${name}`;

/** The members a function keeps now: max_warm while invoked or within idle_timeout of its last invocation, else min_warm. */
export function capacityTarget(definition: FunctionDefinition, activity: FunctionActivity | undefined, nowMs: number): number {
  const { minWarm, maxWarm, idleTimeoutSeconds } = definition;
  const recent = activity !== undefined && (activity.inFlight > 0 || (activity.lastActiveMs !== null && nowMs - activity.lastActiveMs < idleTimeoutSeconds * 1000));
  return recent ? Math.max(maxWarm, minWarm) : minWarm;
}

export class FunctionCapacity {
  /** What this replica set in its pool, by tag (the template's definition and the size). */
  private readonly applied = new Map<string, { definition: string; size: number }>();
  /** Templates by tag, worked out once per definition (null: it cannot run warm). */
  private readonly templates = new Map<string, { definition: string; template: ContainerSpec | null }>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  private sweptAtMs = 0;

  constructor(private readonly options: FunctionCapacityOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Sets the pools now (if this replica leads) and on every tick from then on. */
  start(): Promise<void> {
    if (!this.timer && this.options.pool) {
      this.timer = setInterval(() => void this.refresh(), this.options.tickMs ?? 1000);
      this.timer.unref();
    }
    return this.refresh();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The engine spec of a function's members (null: it runs cold), from its definition. */
  template(record: FunctionRecord): ContainerSpec | null {
    const tag = capacityTag(record.owner, record.name);
    const definition = JSON.stringify(record.definition);
    const known = this.templates.get(tag);
    if (known && known.definition === definition) return known.template;
    const template = this.options.templateOf(record);
    this.templates.set(tag, { definition, template });
    return template;
  }

  /**
   * Sets every function's pool from the store now, if this replica leads (a definition, an
   * invocation or a deletion on this replica need not wait for the tick). Calls while one runs
   * are folded into one more round.
   */
  refresh(): Promise<void> {
    if (!this.options.pool) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          await this.sync();
        } while (this.again);
      } catch (err) {
        this.options.logger.warn(`function capacity not set: ${(err as Error).message}`);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private async sync(): Promise<void> {
    const pool = this.options.pool;
    if (!pool) return;
    if (!this.options.leadership.isLeader()) {
      // The pool makes nothing while this replica does not lead; what it set is set again when it leads.
      this.applied.clear();
      return;
    }
    const nowMs = this.now();
    // Slots whose replica died count for nothing past their deadline already; once a minute they
    // become finished rows (a write, so not on every tick).
    if (nowMs - this.sweptAtMs >= SWEEP_INTERVAL_MS) {
      this.sweptAtMs = nowMs;
      await this.options.invocations.sweep(nowMs);
    }
    const [records, activity] = await Promise.all([this.options.functions.list(), this.options.invocations.activity(nowMs)]);
    if (!this.options.leadership.isLeader()) return;
    const wanted = new Set<string>();
    for (const record of records) {
      const template = this.template(record);
      if (!template) continue;
      const tag = capacityTag(record.owner, record.name);
      wanted.add(tag);
      const size = capacityTarget(record.definition, activity.get(functionKey(record.owner, record.name)), nowMs);
      const definition = JSON.stringify(record.definition);
      const applied = this.applied.get(tag);
      if (applied && applied.definition === definition && applied.size === size && pool.dedicatedTags().includes(tag)) continue;
      pool.setDedicated(tag, template, size);
      this.applied.set(tag, { definition, size });
    }
    // Functions deleted (on any replica): their members go.
    for (const tag of new Set([...pool.dedicatedTags(), ...this.applied.keys()])) {
      if (wanted.has(tag)) continue;
      pool.dropDedicated(tag);
      this.applied.delete(tag);
      this.templates.delete(tag);
    }
  }

  /** Every function's capacity, by tag, as the store and the engine show it (one engine read). */
  async members(): Promise<Map<string, DedicatedMembers>> {
    return this.options.pool ? this.options.pool.dedicatedMembers() : new Map();
  }

  view(record: FunctionRecord, activity: FunctionActivity, members: Map<string, DedicatedMembers>): CapacityView {
    const template = this.options.pool ? this.template(record) : null;
    const status = members.get(capacityTag(record.owner, record.name));
    const warm = status?.idle ?? 0;
    const warming = status?.creating ?? 0;
    const target = template ? capacityTarget(record.definition, activity, this.now()) : 0;
    return { state: warm > 0 ? 'warm' : warming > 0 ? 'warming' : 'cold', warm, warming, target };
  }
}
