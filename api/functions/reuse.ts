/**
 * `reuse: true` functions: one container per function, kept running (its command an idle loop,
 * the function's script staged in it as for any run), serves the invocations one at a time, each
 * an exec of the script with the invocation's arguments, variables and stdin. What one invocation
 * leaves in the container (files, processes) the next one sees: the function asked for that.
 *
 * The container is the owner's (a record like any other: it counts in their quota and shows in
 * their list), made at the first invocation (cold) and kept while invocations come; with min_warm
 * 0 it goes after idle_timeout. An invocation past its timeout has its processes killed by the
 * satellite (the exec's tagged process tree) and the container is replaced for the next one; a
 * container that is gone or not running is replaced too.
 */
import { ServiceUnavailableError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { ExecRequest, ExecResult } from '../../common/satellite-protocol';
import type { CreateContainerInput } from '../containers/create-request';
import type { ContainerLocator } from '../containers/locator';
import type { ContainerService } from '../containers/service';
import type { User } from '../store/users';
import type { CapacityView } from './capacity';

export interface ReusedContainersOptions {
  containers: ContainerService;
  locator: ContainerLocator;
  logger: Logger;
  /** How often idle containers are looked at (default 1 s). */
  tickMs?: number;
  now?: () => number;
}

export interface ReusedRun {
  user: User;
  tag: string;
  /** The container to make when there is none (the function's definition as a create). */
  input: CreateContainerInput;
  exec: ExecRequest;
  minWarm: number;
  idleTimeoutSeconds: number;
}

interface Keeper {
  user: User;
  id: string | null;
  /** Invocations admitted and not finished (the one running and those waiting their turn). */
  pending: number;
  chain: Promise<unknown>;
  lastUsed: number;
  minWarm: number;
  idleTimeoutMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const START_WAIT_MS = 30_000;

export class ReusedContainers {
  private readonly keepers = new Map<string, Keeper>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ReusedContainersOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.removeIdle(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs the invocation in the function's container once the ones before it are done. */
  async run(run: ReusedRun): Promise<{ result: ExecResult; cold: boolean }> {
    let keeper = this.keepers.get(run.tag);
    if (!keeper) {
      keeper = { user: run.user, id: null, pending: 0, chain: Promise.resolve(), lastUsed: this.now(), minWarm: run.minWarm, idleTimeoutMs: run.idleTimeoutSeconds * 1000 };
      this.keepers.set(run.tag, keeper);
    }
    const current = keeper;
    current.pending++;
    const turn = current.chain.then(() => this.turn(current, run));
    current.chain = turn.catch(() => undefined);
    try {
      return await turn;
    } finally {
      current.pending--;
      current.lastUsed = this.now();
    }
  }

  view(tag: string): CapacityView {
    const keeper = this.keepers.get(tag);
    const warm = keeper?.id && keeper.pending === 0 ? 1 : 0;
    const warming = keeper && !keeper.id && keeper.pending > 0 ? 1 : 0;
    return { state: warm ? 'warm' : warming ? 'warming' : 'cold', warm, warming, target: keeper?.id || warming ? 1 : 0 };
  }

  /** The function is deleted: its container goes (after the invocation running, if any). */
  async forget(tag: string): Promise<void> {
    const keeper = this.keepers.get(tag);
    if (!keeper) return;
    this.keepers.delete(tag);
    await keeper.chain;
    await this.discard(keeper);
  }

  private async turn(keeper: Keeper, run: ReusedRun): Promise<{ result: ExecResult; cold: boolean }> {
    const { containers, locator } = this.options;
    let cold = false;
    if (keeper.id && !(await this.running(keeper.user, keeper.id))) await this.discard(keeper);
    if (!keeper.id) {
      cold = true;
      keeper.id = (await containers.create(run.user, run.input, { idle: true })).id;
      await this.waitRunning(run.user, keeper.id);
    }
    let result: ExecResult;
    try {
      const located = await locator.locate(run.user, keeper.id);
      result = await locator.onEngine(located, (satellite, container) => satellite.exec(container, run.exec));
    } catch (err) {
      await this.discard(keeper);
      throw err;
    }
    // The satellite killed the exec's process tree; a fresh container makes sure nothing of it is left.
    if (result.timed_out) await this.discard(keeper);
    return { result, cold };
  }

  private async running(user: User, id: string): Promise<boolean> {
    try {
      const state = await this.options.containers.state(user, id);
      return 'Status' in state.docker_state && state.docker_state.Status === 'running';
    } catch {
      return false;
    }
  }

  private async waitRunning(user: User, id: string): Promise<void> {
    const deadline = Date.now() + START_WAIT_MS;
    for (;;) {
      const state = await this.options.containers.state(user, id);
      const docker = state.docker_state;
      if ('Status' in docker && docker.Status === 'running') return;
      if (state.status === 'error' || state.status === 'lost' || ('Status' in docker && (docker.Status === 'exited' || docker.Status === 'dead')) || Date.now() > deadline) {
        throw new ServiceUnavailableError(`The function's container did not start (${state.status}).`);
      }
      await sleep(10);
    }
  }

  private async discard(keeper: Keeper): Promise<void> {
    const id = keeper.id;
    keeper.id = null;
    if (id) await this.options.containers.delete(keeper.user, id).catch((err: Error) => this.options.logger.warn(`function container ${id} not removed: ${err.message}`));
  }

  /** With min_warm 0, a container idle for idle_timeout goes. */
  private async removeIdle(): Promise<void> {
    const now = this.now();
    for (const [tag, keeper] of this.keepers) {
      if (keeper.pending > 0 || keeper.minWarm > 0 || now - keeper.lastUsed < keeper.idleTimeoutMs) continue;
      this.keepers.delete(tag);
      await this.discard(keeper);
    }
  }
}
