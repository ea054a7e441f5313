/**
 * The long container actions, each answered with an operation: start, stop, restart, snapshot,
 * fork (copies from a snapshot taken now; the original keeps running) and batch create.
 * Ownership is checked before the operation exists: someone else's container is a 404 at once.
 */
import { HttpError } from '../../common/errors';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { CreateContainerInput, CreateRequestLimits } from './create-request';
import { parseCreateRequest } from './create-request';
import type { ContainerService } from './service';
import type { ContainerView } from './view';
import type { User } from '../store/users';
import type { ContainerLocator } from './locator';
import { OperationFailure, type OperationService, type OperationView } from '../operations/service';
import type { SnapshotService, SnapshotView } from '../snapshots/service';
import type { QuotaService } from '../quotas/service';

export interface LifecycleServiceOptions {
  locator: ContainerLocator;
  containers: ContainerService;
  scheduler: Scheduler;
  operations: OperationService;
  snapshots: SnapshotService;
  createLimits: CreateRequestLimits;
  /** Snapshot and fork are refused (403) before their operation exists when over quota. */
  quotas: QuotaService;
}

export type BatchItemResult = { index: number; id: string } | { index: number; error: { status: number; body: unknown } };

const containerPath = (id: string): string => `/v1/container/${id}/`;

function errorOf(err: unknown): { status: number; body: unknown } {
  if (err instanceof HttpError) return { status: err.status, body: err.body };
  return { status: 500, body: { detail: (err as Error).message } };
}

export class LifecycleService {
  constructor(private readonly options: LifecycleServiceOptions) {}

  private operation<T>(owner: User, kind: OperationView['kind'], target: string, run: (signal: AbortSignal) => Promise<T>): Promise<OperationView> {
    return this.options.operations.start({ owner, kind, target, run });
  }

  /** Starts the container (again): an ephemeral container that already ran is started too. */
  private async startNow(user: User, view: ContainerView): Promise<ContainerView> {
    await this.options.scheduler.start(view.unit);
    return this.options.containers.get(user, view.id);
  }

  private async stopNow(user: User, view: ContainerView): Promise<ContainerView> {
    await this.options.scheduler.stop(view.unit);
    return this.options.containers.get(user, view.id);
  }

  async start(user: User, id: string): Promise<OperationView> {
    const view = await this.options.containers.get(user, id);
    return this.operation(user, 'start', containerPath(id), async () => ({ container: await this.startNow(user, view) }));
  }

  async stop(user: User, id: string): Promise<OperationView> {
    const view = await this.options.containers.get(user, id);
    return this.operation(user, 'stop', containerPath(id), async () => ({ container: await this.stopNow(user, view) }));
  }

  async restart(user: User, id: string): Promise<OperationView> {
    const view = await this.options.containers.get(user, id);
    return this.operation(user, 'restart', containerPath(id), async () => {
      await this.options.scheduler.restart(view.unit);
      return { container: await this.options.containers.get(user, view.id) };
    });
  }

  async snapshot(user: User, id: string, name: string | null): Promise<OperationView> {
    await this.options.containers.get(user, id);
    await this.options.quotas.ensureRoom(user.username, 'snapshots');
    return this.operation(user, 'snapshot', containerPath(id), async () => ({ snapshot: await this.takeSnapshot(user, id, name) }));
  }

  private async takeSnapshot(user: User, id: string, name: string | null): Promise<SnapshotView> {
    const { locator } = this.options;
    const owned = await locator.locate(user, id);
    const snapshot = await locator.onEngine(owned, () => this.options.snapshots.take(user, owned, name));
    // The commit paused the container for a moment; record that it runs again.
    await locator.refresh(user, owned).catch(() => undefined);
    return snapshot;
  }

  /**
   * `count` writable copies of the container, each started from one snapshot taken now. The
   * copies' filesystems are the original's at that moment; their processes start afresh with
   * the original's command and script (a snapshot holds files, not running processes). Volumes are not
   * part of a snapshot, so copies mount none.
   *
   * Quotas: the fork needs room for one snapshot and `count` containers, or it is refused (403)
   * before anything is done. Each copy's create checks the container quota again; if concurrent
   * creates took the room meanwhile, the operation fails at that copy and its result lists the
   * snapshot and the copies already made (they are kept).
   */
  async fork(user: User, id: string, count: number): Promise<OperationView> {
    const original = await this.options.containers.get(user, id);
    await this.options.quotas.ensureRoom(user.username, 'snapshots');
    await this.options.quotas.ensureRoom(user.username, 'containers', count);
    return this.operation(user, 'fork', containerPath(id), async (signal) => {
      const snapshot = await this.takeSnapshot(user, id, `fork of ${id}`);
      const containers: string[] = [];
      for (let i = 0; i < count; i++) {
        if (signal.aborted) throw new OperationFailure('the API is shutting down', { snapshot, containers });
        const input: CreateContainerInput = {
          image: snapshot.image,
          imageName: snapshot.image.split(':')[0],
          imageTag: snapshot.id,
          script: null,
          scriptname: 'script',
          scripturl: null,
          dataurl: null,
          datapath: null,
          // No script and no arguments of its own: the copy runs the snapshot's command, the
          // original's script (staged again; a commit does not capture it) and arguments.
          args: [],
          env: { ...original.env },
          permanent: original.permanent,
          snapshot: snapshot.id,
          volumes: [],
          // Copies get the installation's default limits.
          resources: {},
          // Each copy lives as long as the original was given, counted from the fork (0: none).
          ttlSeconds: original.ttl ?? 0,
          // A hostname names one container: copies get none. They keep the original's network mode.
          hostname: null,
          network: original.network ?? 'internet',
          // The same exposed ports, on host ports the engine chooses (a fixed one is the original's).
          ports: original.ports.map(({ port, protocol }) => ({ port, protocol })),
          links: { ...original.links },
        };
        try {
          containers.push((await this.options.containers.create(user, input)).id);
        } catch (err) {
          throw new OperationFailure(`copy ${i + 1} of ${count} failed: ${(err as Error).message}`, { snapshot, containers });
        }
      }
      return { snapshot, containers };
    });
  }

  /**
   * One operation for up to the configured maximum of create requests; each is validated and
   * created on its own, and the result lists each one's container id or its error.
   */
  batchCreate(user: User, requests: unknown[]): Promise<OperationView> {
    const parsed = requests.map((body) => {
      try {
        return { input: parseCreateRequest(body, null, this.options.createLimits) };
      } catch (err) {
        return { error: errorOf(err) };
      }
    });
    return this.operation(user, 'batch_create', '/v1/container/', async (signal) => {
      const results: BatchItemResult[] = [];
      let next = 0;
      // A few at a time: enough to overlap the engine's work, not enough to swamp it.
      const worker = async (): Promise<void> => {
        while (next < parsed.length) {
          const index = next++;
          const item = parsed[index] as { input?: CreateContainerInput; error?: { status: number; body: unknown } };
          if (item.error) {
            results.push({ index, error: item.error });
          } else if (signal.aborted) {
            results.push({ index, error: { status: 503, body: { detail: 'The API shut down before this request.' } } });
          } else {
            try {
              results.push({ index, id: (await this.options.containers.create(user, item.input as CreateContainerInput)).id });
            } catch (err) {
              results.push({ index, error: errorOf(err) });
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, parsed.length) }, worker));
      results.sort((a, b) => a.index - b.index);
      const created = results.filter((r) => 'id' in r).length;
      return { created, failed: results.length - created, containers: results };
    });
  }
}
