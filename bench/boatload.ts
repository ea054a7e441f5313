/**
 * The BoatLoad side: the public HTTP API, as a user would call it. Every container the bench
 * creates is remembered, and the installation's instance label (learned from the first container)
 * lets the final cleanup remove anything left on the engine.
 */
import type Docker from 'dockerode';
import type { HttpClient } from './http';
import { settleLimit, sleep } from './util';

export interface CreateBody {
  script?: string;
  container_args?: string | string[];
  env?: Record<string, string>;
  permanent?: boolean;
  image_name?: string;
  image_tag?: string;
  network?: string;
  /** A limit of its own (e.g. one no warm pool class has: the run starts cold). */
  pids?: number;
}

export interface StateAnswer {
  fleet_state: { name: string; loadState: string; activeState: string; subState: string };
  docker_state: { Running?: boolean; ExitCode?: number; Status?: string };
  status: string;
  reason: string | null;
}

export interface ListedContainer {
  id: string;
  status: string;
  exit_code: number | null;
  reason: string | null;
}

export const engineNameOf = (id: string): string => `boatload-${id}`;
const FINAL = new Set(['exited', 'error', 'lost', 'stopped']);

export class BoatLoadApi {
  instanceId: string | null = null;
  readonly live = new Set<string>();

  constructor(readonly http: HttpClient, private readonly docker: Docker) {}

  async create(body: CreateBody): Promise<string> {
    const answer = await this.http.expect('POST', '/v1/container/', 201, body);
    const { id } = answer.json<{ id: string }>();
    this.live.add(id);
    if (!this.instanceId) await this.learnInstance(id);
    return id;
  }

  private async learnInstance(id: string): Promise<void> {
    try {
      const info = await this.docker.getContainer(engineNameOf(id)).inspect();
      this.instanceId = info.Config.Labels?.['boatload.instance'] ?? null;
    } catch {
      // Not created yet or already gone; the next create tries again.
    }
  }

  async state(id: string): Promise<StateAnswer> {
    return (await this.http.expect('GET', `/v1/container/${id}/state`, 200)).json<StateAnswer>();
  }

  /** Polls `state` until `done` (or a final status that is not `done`, which throws). */
  async waitFor(id: string, done: (s: StateAnswer) => boolean, options: { pollMs?: number; timeoutMs?: number } = {}): Promise<StateAnswer> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const state = await this.state(id);
      if (done(state)) return state;
      if (FINAL.has(state.status) || state.status === 'error') {
        throw new Error(`container ${id} ended as ${state.status} (${state.reason ?? 'no reason'}, docker ${JSON.stringify(state.docker_state)})`);
      }
      if (Date.now() > deadline) throw new Error(`container ${id} still ${state.status} after ${options.timeoutMs ?? 60_000} ms`);
      await sleep(options.pollMs ?? 10);
    }
  }

  /** Waits for an exit with code 0. */
  waitExited(id: string, options: { pollMs?: number; timeoutMs?: number } = {}): Promise<StateAnswer> {
    return this.waitFor(id, (s) => s.status === 'exited' && s.docker_state.ExitCode === 0, options);
  }

  list(): Promise<ListedContainer[]> {
    return this.http.expect('GET', '/v1/container/', 200).then((a) => a.json<ListedContainer[]>());
  }

  async remove(id: string): Promise<void> {
    await this.http.expect('DELETE', `/v1/container/${id}`, [204, 404]);
    this.live.delete(id);
  }

  /** Deletes through the API (so the store is clean for the next scenario); returns the failures. */
  removeMany(ids: readonly string[], concurrency = 8): Promise<Error[]> {
    return settleLimit(ids, concurrency, (id) => this.remove(id));
  }

  /** Last resort, straight on the engine: every container of this installation, and every one we know of. */
  async removeFromEngine(): Promise<number> {
    const names = new Set<string>([...this.live].map(engineNameOf));
    if (this.instanceId) {
      const found = await this.docker.listContainers({ all: true, filters: { label: [`boatload.instance=${this.instanceId}`] } });
      for (const c of found) names.add(c.Id);
    }
    let removed = 0;
    await settleLimit([...names], 8, async (name) => {
      try {
        await this.docker.getContainer(name).remove({ force: true, v: true });
        removed++;
      } catch {
        // already gone
      }
    });
    this.live.clear();
    return removed;
  }
}
