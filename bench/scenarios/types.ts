/** What every scenario gets and gives back. */
import type { BoatLoadApi } from '../boatload';
import type { RawEngine } from '../raw';
import { summarize, type Summary } from '../stats';
import type { BoatLoadSystem } from '../system';

export interface BenchContext {
  quick: boolean;
  system: BoatLoadSystem;
  bl: BoatLoadApi;
  raw: RawEngine;
  /** The default image, as BoatLoad's config names it. */
  image: string;
  /** `Authorization` header value for load generators. */
  authorization: string;
  /** Measured iterations (or rounds): --iterations=N if given, else the quick or full default. */
  iterations(full: number, quick: number): number;
  /** --profile: where processes a scenario starts itself write their CPU profiles. */
  cpuProfileDir?: string;
  /**
   * Registers cleanup for what a scenario set up beyond containers on the engine (a cluster, extra
   * processes): run on Ctrl-C/SIGTERM before the bench exits. Returns the unregistration.
   */
  onInterrupt(cleanup: () => Promise<unknown>): () => void;
}

/** A target on one figure of a row: the ratio, or an absolute BoatLoad figure. */
export interface Target {
  on: 'ratio' | 'boatload.median' | 'boatload.p99' | 'boatload.max';
  op: '<=' | '>=' | '<' | '>';
  value: number;
  /** Extra conditions (zero errors, …) that must also hold; each false entry misses the target. */
  conditions?: Record<string, boolean>;
}

export type RowStatus = 'measured' | 'skipped' | 'failed';

export interface Row {
  scenario: string;
  name: string;
  unit: string;
  boatload: Summary | null;
  raw: Summary | null;
  /** BoatLoad's median over the raw engine's median (null when there is no raw side). */
  ratio: number | null;
  higherIsBetter: boolean;
  target: Target | null;
  status: RowStatus;
  /** Why a row was skipped or failed, or a note on how it was measured. */
  reason?: string;
  extra?: Record<string, unknown>;
}

export interface Scenario {
  /** Short id for --only (also matched by its number). */
  id: string;
  number: number;
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export function compareRow(input: {
  scenario: string;
  name: string;
  unit: string;
  higherIsBetter: boolean;
  boatload: number[];
  raw: number[] | null;
  target: Target | null;
  reason?: string;
  extra?: Record<string, unknown>;
}): Row {
  const bl = summarize(input.boatload, input.higherIsBetter);
  const raw = input.raw ? summarize(input.raw, input.higherIsBetter) : null;
  return {
    scenario: input.scenario,
    name: input.name,
    unit: input.unit,
    boatload: bl,
    raw,
    ratio: raw && raw.median ? bl.median / raw.median : null,
    higherIsBetter: input.higherIsBetter,
    target: input.target,
    status: 'measured',
    reason: input.reason,
    extra: input.extra,
  };
}

export function skippedRow(scenario: string, name: string, unit: string, reason: string, target: Target | null, higherIsBetter: boolean): Row {
  return { scenario, name, unit, boatload: null, raw: null, ratio: null, higherIsBetter, target, status: 'skipped', reason };
}

/**
 * Runs warm-ups, then measured iterations, alternating the two sides and flipping which goes first
 * on every iteration (A B, B A, …) so that neither side always runs on a cooler or warmer machine.
 */
export async function alternate(input: {
  warmups: number;
  iterations: number;
  boatload: (warmup: boolean, index: number) => Promise<number>;
  raw: (warmup: boolean, index: number) => Promise<number>;
  log?: (message: string) => void;
}): Promise<{ boatload: number[]; raw: number[] }> {
  const out = { boatload: [] as number[], raw: [] as number[] };
  const total = input.warmups + input.iterations;
  for (let i = 0; i < total; i++) {
    const warmup = i < input.warmups;
    const order: Array<'boatload' | 'raw'> = i % 2 === 0 ? ['boatload', 'raw'] : ['raw', 'boatload'];
    const got: Partial<Record<'boatload' | 'raw', number>> = {};
    for (const side of order) {
      got[side] = await input[side](warmup, i);
      if (!warmup) out[side].push(got[side]);
    }
    if (input.log) input.log(`${warmup ? 'warm-up' : 'iteration'} ${warmup ? i + 1 : i - input.warmups + 1}: boatload ${fmt(got.boatload)}, raw ${fmt(got.raw)}`);
  }
  return out;
}

const fmt = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
