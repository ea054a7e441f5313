/**
 * Operations: the receipts of long actions (start, stop, restart, snapshot, fork, batch create).
 * Each is stored before the route answers 202, then follows pending → running → succeeded or
 * failed. Nothing about them lives only in memory: an API that stops while one runs leaves it
 * pending/running in the store, and the next API start marks it failed ("interrupted by an API
 * restart").
 */
import { randomBytes } from 'node:crypto';
import { HttpError, NotFoundError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { OperationKind, OperationRecord, OperationRepository } from '../store/operations';
import type { User } from '../store/users';

export const INTERRUPTED_REASON = 'interrupted by an API restart';

export interface OperationView {
  id: string;
  kind: OperationKind;
  status: OperationRecord['status'];
  target: string;
  created: string;
  updated: string;
  result?: unknown;
  error?: string;
}

export function operationView(record: OperationRecord): OperationView {
  const view: OperationView = { id: record.id, kind: record.kind, status: record.status, target: record.target, created: record.created, updated: record.updated };
  if (record.result !== null && record.result !== undefined) view.result = record.result;
  if (record.error !== null) view.error = record.error;
  return view;
}

/** A failure that still has a result to report (e.g. the copies a fork made before it failed). */
export class OperationFailure extends Error {
  constructor(
    message: string,
    readonly result: unknown,
  ) {
    super(message);
  }
}

export interface OperationWork<T> {
  owner: User;
  kind: OperationKind;
  /** The path of the resource acted on. */
  target: string;
  /** The action; `signal` aborts when the API shuts down. */
  run: (signal: AbortSignal) => Promise<T>;
}

export class OperationService {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly options: { repository: OperationRepository; logger: Logger }) {}

  /** At API start: whatever was still pending or running was cut off by the restart. */
  async failInterrupted(): Promise<number> {
    const count = await this.options.repository.failUnfinished(INTERRUPTED_REASON);
    if (count) this.options.logger.warn(`${count} operation(s) were ${INTERRUPTED_REASON}`);
    return count;
  }

  /** Stores the operation (pending) and runs it in the background. */
  async start<T>(work: OperationWork<T>): Promise<OperationView> {
    const repository = this.options.repository;
    const record = await repository.insert({ id: randomBytes(16).toString('hex'), owner: work.owner.username, kind: work.kind, target: work.target });
    // Awaited one after the other: `running` is written before the outcome.
    const write = async (patch: Parameters<OperationRepository['update']>[1]): Promise<void> => {
      // After shutdown the record stays as it was; the next start marks it interrupted.
      if (this.closed) return;
      try {
        await repository.update(record.id, patch);
      } catch (err) {
        this.options.logger.warn(`operation ${record.id}: ${(err as Error).message}`);
      }
    };
    const task = (async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.closed) return;
      await write({ status: 'running' });
      try {
        const result = await work.run(this.abort.signal);
        await write({ status: 'succeeded', result });
      } catch (err) {
        const message = err instanceof HttpError || err instanceof Error ? err.message : String(err);
        await write({ status: 'failed', error: message, result: err instanceof OperationFailure ? err.result : undefined });
      }
    })();
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
    return operationView(record);
  }

  async get(user: User, id: string): Promise<OperationView> {
    const record = /^[0-9a-f]{32}$/.test(id) ? await this.options.repository.find(id) : undefined;
    if (!record || (!user.isAdmin && record.owner !== user.username)) throw new NotFoundError();
    return operationView(record);
  }

  async list(user: User, limit = 200): Promise<OperationView[]> {
    return (await this.options.repository.list(user.isAdmin ? undefined : user.username, limit)).map(operationView);
  }

  counts(): Promise<Record<string, number>> {
    return this.options.repository.countByStatus();
  }

  async deleteOwnedBy(username: string): Promise<void> {
    await this.options.repository.deleteOwnedBy(username);
  }

  /** Waits for running operations (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops recording: running work is told to stop, and its records are left for the next start. */
  close(): void {
    this.closed = true;
    this.abort.abort();
  }
}
