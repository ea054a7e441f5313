/**
 * What the API logs about a unit going wrong: its container failed, is in a crash loop, or could
 * not be started. One line at warn per transition into a problem, naming the unit and the reason;
 * the periodic state sync seeing the same problem again logs nothing.
 */
import type { Logger } from '../../common/logger';
import type { EngineObservation } from './model';

export interface UnitProblem {
  kind: 'failed' | 'crash loop' | 'start error';
  /** The reason, as one line. */
  text: string;
}

/** The problem an observation of the unit's container shows, or null. */
export function problemOf(observed: EngineObservation | null): UnitProblem | null {
  if (!observed) return null;
  const { status, exitCode, error } = observed;
  if (status === 'restarting') {
    return { kind: 'crash loop', text: `the engine keeps restarting its container${exitCode === null ? '' : ` (last exit code ${exitCode})`}` };
  }
  if (error && (status === 'created' || status === 'exited')) return { kind: 'start error', text: error };
  if (status === 'dead') return { kind: 'failed', text: error ?? 'its container is dead' };
  if (status === 'exited' && exitCode !== null && exitCode !== 0) return { kind: 'failed', text: `its container exited with code ${exitCode}` };
  if (status === 'missing' && error) return { kind: 'failed', text: error };
  return null;
}

export interface UnitProblemLogOptions {
  logger: Logger;
  /**
   * A crash loop shows `running` between its restarts: it counts as over only once the container
   * has not been seen restarting for this long (then a new crash loop is logged again).
   */
  crashLoopQuietMs?: number;
  now?: () => number;
}

export class UnitProblemLog {
  private readonly reported = new Map<string, { key: string; kind: UnitProblem['kind']; at: number }>();

  constructor(private readonly options: UnitProblemLogOptions) {}

  /** What was just seen of the unit: a problem not reported last time is logged once. */
  note(unitName: string, problem: UnitProblem | null): void {
    const now = (this.options.now ?? Date.now)();
    const last = this.reported.get(unitName);
    if (!problem) {
      const quietMs = this.options.crashLoopQuietMs ?? 60_000;
      if (last && (last.kind !== 'crash loop' || now - last.at >= quietMs)) this.reported.delete(unitName);
      return;
    }
    const key = problem.kind === 'crash loop' ? problem.kind : `${problem.kind}: ${problem.text}`;
    if (last?.key === key) {
      last.at = now;
      return;
    }
    this.reported.set(unitName, { key, kind: problem.kind, at: now });
    this.options.logger.warn(`unit ${unitName}: ${problem.kind}: ${problem.text}`);
  }

  /** The unit is gone (destroyed) or starts over (replaced): its next problem is new. */
  forget(unitName: string): void {
    this.reported.delete(unitName);
  }
}
