/**
 * Work inside a running container: synchronous execs, readiness (running and exec-able), the
 * wait for it, and the live output stream. Each goes to the satellite of the container's machine.
 */
import type { ExecResult } from '../../common/satellite-protocol';
import { nanosToUnixSeconds } from '../../common/timestamps';
import type { ContainerView } from './view';
import type { StreamedResponse } from '../satellite/client';
import type { User } from '../store/users';
import { HttpError } from '../../common/errors';
import type { ContainerLocator, LocatedContainer } from './locator';
import type { ExecInput } from './action-requests';

/**
 * Readiness, beyond the engine's state: `created` (exists, not started), `starting` (being
 * started, or running but not yet exec-able), `ready` (running and a trivial exec succeeds),
 * `exited`, `stopped`, `paused`, `error` (with a reason), `lost` (the engine lost it).
 */
export type ReadinessStatus = 'created' | 'starting' | 'ready' | 'paused' | 'exited' | 'stopped' | 'error' | 'lost';

export interface Readiness {
  status: ReadinessStatus;
  reason: string | null;
  exit_code: number | null;
  checked: string;
  /** Set by a wait that ran out of time before the container settled. */
  timed_out?: boolean;
}

export interface ContainerWithReadiness extends ContainerView {
  readiness: Readiness;
}

const UNSETTLED: ReadonlySet<ReadinessStatus> = new Set(['created', 'starting']);

export interface ExecServiceOptions {
  locator: ContainerLocator;
  /** The record as it stands, when the container is on no machine. */
  view: (user: User, id: string) => Promise<ContainerView>;
  outputMaxBytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ExecService {
  constructor(private readonly options: ExecServiceOptions) {}

  /** Runs the command to its end or its timeout (409 when the container is not running). */
  async exec(user: User, id: string, input: ExecInput): Promise<ExecResult> {
    const { locator } = this.options;
    const owned = await locator.locate(user, id);
    return locator.onEngine(owned, (satellite, container) =>
      satellite.exec(container, {
        cmd: input.cmd,
        env: input.env,
        workdir: input.workdir,
        user: input.user,
        timeoutMs: Math.round(input.timeoutSeconds * 1000),
        maxOutputBytes: this.options.outputMaxBytes,
      }),
    );
  }

  /** The container's readiness now (a running container is probed with a trivial exec). */
  async readiness(user: User, id: string): Promise<ContainerWithReadiness> {
    const { locator } = this.options;
    let owned: LocatedContainer | null = null;
    try {
      owned = await locator.refresh(user, await locator.locate(user, id));
    } catch (err) {
      // Not on any machine yet (or gone from the engine): the record says what it is.
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
    }
    const view = owned?.view ?? (await this.options.view(user, id));
    const checked = new Date().toISOString();
    const base = { reason: view.reason, exit_code: view.exit_code, checked };
    switch (view.status) {
      case 'creating':
        return { ...view, readiness: { ...base, status: 'created' } };
      case 'starting':
      case 'restarting':
        return { ...view, readiness: { ...base, status: 'starting' } };
      case 'running': {
        const probe = owned
          ? await owned.satellite.ready(owned.container).catch((err: Error) => ({ ready: false, reason: err.message }))
          : { ready: false, reason: 'the container is on no machine yet' };
        return { ...view, readiness: { ...base, status: probe.ready ? 'ready' : 'starting', reason: probe.ready ? null : probe.reason } };
      }
      case 'paused':
      case 'exited':
      case 'stopped':
      case 'error':
      case 'lost':
        return { ...view, readiness: { ...base, status: view.status } };
    }
  }

  /** Polls readiness until the container is ready, exited, failed… or `timeoutSeconds` pass. */
  async waitReady(user: User, id: string, timeoutSeconds: number): Promise<ContainerWithReadiness> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const current = await this.readiness(user, id);
      if (!UNSETTLED.has(current.readiness.status)) return current;
      if (Date.now() >= deadline) {
        return { ...current, readiness: { ...current.readiness, timed_out: true, reason: current.readiness.reason ?? `not ready within ${timeoutSeconds} s` } };
      }
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
  }

  /** Server-Sent Events of the container's output (see satellite/container-sessions.ts). */
  async output(user: User, id: string, resume: { since: bigint | null; exclusive: boolean }): Promise<StreamedResponse> {
    const { locator } = this.options;
    const owned = await locator.locate(user, id);
    return locator.onEngine(owned, (satellite, container) => satellite.output(container, resume.since === null ? null : nanosToUnixSeconds(resume.since), resume.exclusive));
  }
}
