/**
 * A function's warm capacity: members of the warm pool made for that function alone, from its
 * definition (image, limits, network none). Kept at `min_warm` while the function is idle, at
 * `max_warm` from an invocation until `idle_timeout` seconds pass without one; then back to
 * `min_warm`, which may be zero. The pool (units/scheduler/warm-pool.ts) makes and removes the
 * members; this decides their number.
 */
import type { ContainerSpec } from '../../common/container-spec';
import type { DedicatedStatus } from '../../units/scheduler/warm-pool';
import type { FunctionRecord } from '../store/functions';

/** What capacity needs of the warm pool (null: a backend without one, e.g. swarm for now). */
export interface DedicatedPool {
  setDedicated(tag: string, template: ContainerSpec, size: number): void;
  dropDedicated(tag: string): void;
  dedicatedStatus(tag: string): DedicatedStatus | null;
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
  /** The engine spec of the function's members, or null when its invocations cannot run warm. */
  templateOf(record: FunctionRecord): ContainerSpec | null;
  /** How often idle functions are scaled down (default 1 s). */
  tickMs?: number;
  now?: () => number;
}

interface Tracked {
  record: FunctionRecord;
  template: ContainerSpec;
  target: number;
  lastInvoked: number;
  busy: number;
}

export const capacityTag = (owner: string, name: string): string => `function:${owner}/${name}`;

export class FunctionCapacity {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: FunctionCapacityOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Takes on every function defined (at start) and scales idle ones down from then on. */
  start(records: FunctionRecord[]): void {
    for (const record of records) this.define(record);
    if (this.timer || !this.options.pool) return;
    this.timer = setInterval(() => this.scaleIdle(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A new function: warm to min_warm (when it can run warm at all). */
  define(record: FunctionRecord): void {
    const { pool } = this.options;
    const template = pool ? this.options.templateOf(record) : null;
    if (!pool || !template) return;
    const tag = capacityTag(record.owner, record.name);
    this.tracked.set(tag, { record, template, target: record.definition.minWarm, lastInvoked: 0, busy: 0 });
    pool.setDedicated(tag, template, record.definition.minWarm);
  }

  forget(owner: string, name: string): void {
    const tag = capacityTag(owner, name);
    this.tracked.delete(tag);
    this.options.pool?.dropDedicated(tag);
  }

  /** An invocation begins: capacity goes to max_warm until it has been idle for idle_timeout. Answers its end. */
  invoked(owner: string, name: string): () => void {
    const entry = this.tracked.get(capacityTag(owner, name));
    if (!entry) return () => undefined;
    entry.busy++;
    entry.lastInvoked = this.now();
    this.resize(entry, Math.max(entry.record.definition.maxWarm, entry.record.definition.minWarm));
    return () => {
      entry.busy--;
      entry.lastInvoked = this.now();
    };
  }

  view(owner: string, name: string): CapacityView {
    const tag = capacityTag(owner, name);
    const status = this.options.pool?.dedicatedStatus(tag) ?? null;
    const warm = status?.idle ?? 0;
    const warming = status?.creating ?? 0;
    return { state: warm > 0 ? 'warm' : warming > 0 ? 'warming' : 'cold', warm, warming, target: this.tracked.get(tag)?.target ?? 0 };
  }

  /** Functions idle for their idle_timeout go back to min_warm (zero: no member at all). */
  scaleIdle(): void {
    const now = this.now();
    for (const entry of this.tracked.values()) {
      const { minWarm, idleTimeoutSeconds } = entry.record.definition;
      if (entry.target > minWarm && entry.busy === 0 && now - entry.lastInvoked >= idleTimeoutSeconds * 1000) this.resize(entry, minWarm);
    }
  }

  private resize(entry: Tracked, size: number): void {
    if (entry.target === size) return;
    entry.target = size;
    this.options.pool?.setDedicated(capacityTag(entry.record.owner, entry.record.name), entry.template, size);
  }
}
