/**
 * Functions: a named script (or command) with its image, variables, limits and timeout, invoked
 * with arguments. Every invocation is a container run of its own, created through the container
 * service (so quotas, limits and validation are a container's), warm when the installation's warm
 * pool has a member of its class or the function keeps warm capacity of its own (capacity.ts);
 * its output is read back and the container removed. An invocation past its timeout has its
 * container removed (the engine kills the whole process tree).
 */
import { ConflictError, NotFoundError, TooManyRequestsError, ValidationError } from '../../common/errors';
import { LABELS } from '../../common/labels';
import type { ContainerSpec } from '../../common/container-spec';
import type { ContainerService } from '../containers/service';
import { parseCreateRequest, type CreateRequestLimits } from '../containers/create-request';
import type { ContainerLocator, LocatedContainer } from '../containers/locator';
import type { OperationService, OperationView } from '../operations/service';
import type { FunctionDefinition, FunctionRecord, FunctionRepository } from '../store/functions';
import type { User } from '../store/users';
import type { Logger } from '../../common/logger';
import { functionKey, type FunctionInvocationRepository, type InvocationNote } from '../store/function-invocations';
import type { DedicatedMembers } from '../../units/scheduler/warm-pool';
import type { Leadership } from '../../units/scheduler/leadership';
import type { FunctionRequest, InvokeRequest } from './requests';
import { capacityTag, FunctionCapacity, type CapacityView, type DedicatedPool } from './capacity';
import { randomUUID } from 'node:crypto';
import { ReusedContainers } from './reuse';
import { posix } from 'node:path';
import { SCRIPT_DIR, type ExecRequest } from '../../common/satellite-protocol';

export interface FunctionServiceOptions {
  functions: FunctionRepository;
  /** Invocations in flight and finished, shared by the replicas (max_concurrency, last invocations, the capacity clock). */
  invocations: FunctionInvocationRepository;
  /** Only the leader keeps functions' warm capacity (always, on SQLite). */
  leadership: Leadership;
  containers: ContainerService;
  locator: ContainerLocator;
  operations: OperationService;
  createLimits: CreateRequestLimits;
  /** Largest stdout and stderr an invocation answers (each; the rest is cut, `truncated`). */
  outputMaxBytes: number;
  /** The warm pool that keeps functions' own capacity (null: none on this backend). */
  pool: DedicatedPool | null;
  /** How often the leader sets functions' capacity from the store (default 1 s). */
  capacityTickMs?: number;
  /**
   * How long an invocation's slot lasts without its replica renewing it (default 30 s; renewed every
   * third of it while the invocation runs): a replica that dies frees its slots within this long.
   */
  invocationLeaseMs?: number;
  logger: Logger;
}

export interface InvocationResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  cold: boolean;
  timed_out: boolean;
  truncated: boolean;
}

export interface FunctionView {
  name: string;
  owner: string;
  image_name: string;
  image_tag: string;
  cmd: string[] | null;
  has_script: boolean;
  env: Record<string, string>;
  timeout: number;
  memory: number | null;
  cpus: number | null;
  min_warm: number;
  max_warm: number;
  max_concurrency: number;
  idle_timeout: number;
  reuse: boolean;
  created: string;
  capacity: CapacityView & { in_flight: number };
  last_invocations: InvocationNote[];
}

const DEFAULT_INVOCATION_LEASE_MS = 30_000;

export class FunctionService {
  /** This replica's invocations in flight (their slots in the store are renewed while they run). */
  private readonly running = new Set<string>();
  private readonly removals = new Set<Promise<void>>();
  private readonly capacity: FunctionCapacity;
  private readonly reused: ReusedContainers;
  private renewer: NodeJS.Timeout | null = null;

  constructor(private readonly options: FunctionServiceOptions) {
    this.capacity = new FunctionCapacity({
      pool: options.pool,
      functions: options.functions,
      invocations: options.invocations,
      leadership: options.leadership,
      templateOf: (record) => this.templateOf(record),
      tickMs: options.capacityTickMs,
      logger: options.logger,
    });
    this.reused = new ReusedContainers({ containers: options.containers, locator: options.locator, logger: options.logger, tickMs: options.capacityTickMs });
  }

  private leaseMs(): number {
    return this.options.invocationLeaseMs ?? DEFAULT_INVOCATION_LEASE_MS;
  }

  /**
   * Warms every defined function to its min_warm when this replica leads (after the pool removed an
   * earlier start's members), and keeps doing so from the store; renews this replica's slots.
   */
  async start(): Promise<void> {
    await this.capacity.start();
    this.reused.start();
    if (!this.renewer) {
      this.renewer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs() / 3)));
      this.renewer.unref();
    }
  }

  close(): void {
    this.capacity.close();
    this.reused.close();
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = null;
  }

  private async renew(): Promise<void> {
    try {
      await this.options.invocations.renew([...this.running], Date.now() + this.leaseMs());
    } catch (err) {
      this.options.logger.warn(`function invocations not renewed: ${(err as Error).message}`);
    }
  }

  private templateOf(record: FunctionRecord): ContainerSpec | null {
    // A reused function's capacity is its one container (reuse.ts), not pool members.
    if (record.definition.reuse) return null;
    try {
      const input = parseCreateRequest(this.createBody(record.definition, { args: [], env: {} }), null, this.options.createLimits);
      return this.options.containers.warmTemplate(record.owner, input);
    } catch (err) {
      // A definition the installation's limits refuse now (they changed): it runs cold, and says why at invoke.
      this.options.logger.warn(`function ${record.owner}/${record.name} keeps no warm capacity: ${(err as Error).message}`);
      return null;
    }
  }

  async create(owner: User, request: FunctionRequest): Promise<FunctionView> {
    // Checked as a container create now, so that a bad script or limit is a 400 here, not at invoke.
    parseCreateRequest(this.createBody(request.definition, { args: [], env: {} }), null, this.options.createLimits);
    const record: FunctionRecord = { owner: owner.username, name: request.name, definition: request.definition, created: new Date().toISOString() };
    // Asked-for capacity that could never be there is refused rather than ignored (a reused
    // function's min_warm only keeps its container), on either backend.
    if (request.definition.minWarm > 0 && !request.definition.reuse && this.options.pool && !this.templateOf(record)) {
      throw ValidationError.field('min_warm', 'Warm capacity needs a script function (a command function, or one this backend cannot keep warm, runs cold).');
    }
    if (!(await this.options.functions.insert(record))) throw new ConflictError(`You have a function named ${request.name} already.`);
    // The leader (this replica or another, on its next tick) warms it to min_warm.
    await this.capacity.refresh();
    return (await this.views([record]))[0];
  }

  async list(user: User): Promise<FunctionView[]> {
    return this.views(await this.options.functions.list(user.username));
  }

  async get(user: User, name: string): Promise<FunctionView> {
    return (await this.views([await this.owned(user, name)]))[0];
  }

  async delete(user: User, name: string): Promise<void> {
    await this.owned(user, name);
    await this.forget(user.username, name);
  }

  /** A deleted user's functions go with them. */
  async deleteOwnedBy(username: string): Promise<void> {
    for (const record of await this.options.functions.list(username)) await this.forget(username, record.name);
  }

  private async forget(owner: string, name: string): Promise<void> {
    await this.options.functions.delete(owner, name);
    await this.options.invocations.forget(owner, name);
    // Its members go (the leader's next tick, or now when this replica leads).
    await this.capacity.refresh();
    await this.reused.forget(capacityTag(owner, name));
  }

  /** Runs it now and answers the result (429 over max_concurrency). */
  async invoke(user: User, name: string, request: InvokeRequest): Promise<InvocationResult> {
    const record = await this.owned(user, name);
    const finish = await this.admit(record);
    return finish(this.run(user, record, request));
  }

  /** Admits it now (429 over max_concurrency) and runs it in the background as an operation. */
  async invokeLater(user: User, name: string, request: InvokeRequest): Promise<OperationView> {
    const record = await this.owned(user, name);
    const finish = await this.admit(record);
    let started = false;
    try {
      return await this.options.operations.start({
        owner: user,
        kind: 'invoke',
        target: `/v1/functions/${name}`,
        run: () => {
          started = true;
          return finish(this.run(user, record, request));
        },
      });
    } catch (err) {
      if (!started) await finish(Promise.reject(err)).catch(() => undefined);
      throw err;
    }
  }

  /** Functions are looked up among the caller's own: someone else's is a 404. */
  private async owned(user: User, name: string): Promise<FunctionRecord> {
    const record = await this.options.functions.find(user.username, name);
    if (!record) throw new NotFoundError();
    return record;
  }

  /**
   * Takes one of the function's max_concurrency slots in the store (a 429 when every one is taken,
   * on whichever replicas); answers how to end the invocation: its result is noted and the slot freed.
   */
  private async admit(record: FunctionRecord): Promise<(run: Promise<InvocationResult>) => Promise<InvocationResult>> {
    const { invocations } = this.options;
    const id = randomUUID();
    const nowMs = Date.now();
    const limit = record.definition.maxConcurrency;
    const admission = await invocations.admit({ id, owner: record.owner, name: record.name, limit, nowMs, deadlineMs: nowMs + this.leaseMs() });
    if (!admission.admitted) {
      throw new TooManyRequestsError(`${record.name} runs ${admission.inFlight} invocations, its max_concurrency; try again shortly.`, 1);
    }
    this.running.add(id);
    // Capacity goes to max_warm from the first invocation (now when this replica leads).
    void this.capacity.refresh();
    return async (run) => {
      let note: InvocationNote | null = null;
      try {
        const result = await run;
        note = { at: new Date().toISOString(), status: result.timed_out ? 'timed out' : result.exit_code === 0 ? 'ok' : 'failed', duration_ms: result.duration_ms, cold: result.cold };
        return result;
      } finally {
        this.running.delete(id);
        await invocations
          .finish({ id, owner: record.owner, name: record.name, nowMs: Date.now(), note })
          .catch((err: Error) => this.options.logger.warn(`invocation ${id} of ${record.owner}/${record.name} not noted (its slot frees at its deadline): ${err.message}`));
      }
    };
  }

  private createBody(definition: FunctionDefinition, request: InvokeRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      container_args: definition.script !== null ? request.args : [...(definition.cmd ?? []), ...request.args],
      env: { ...definition.env, ...request.env },
    };
    if (definition.script !== null) body.script = definition.script;
    if (definition.imageName) body.image_name = definition.imageName;
    if (definition.imageTag) body.image_tag = definition.imageTag;
    if (definition.memory !== null) body.memory = definition.memory;
    if (definition.cpus !== null) body.cpus = definition.cpus;
    if (definition.network) body.network = definition.network;
    return body;
  }

  /** A reused function's invocation: an exec in its one container, after the invocations before it. */
  private async runReused(user: User, record: FunctionRecord, request: InvokeRequest): Promise<InvocationResult> {
    const started = performance.now();
    const d = record.definition;
    const input = parseCreateRequest(this.createBody(d, { args: [], env: {} }), null, this.options.createLimits);
    const exec: ExecRequest = {
      cmd: d.script !== null ? [posix.join(SCRIPT_DIR, input.scriptname), ...request.args] : [...(d.cmd ?? []), ...request.args],
      env: { ...d.env, ...request.env },
      timeoutMs: d.timeoutSeconds * 1000,
      maxOutputBytes: this.options.outputMaxBytes,
    };
    if (request.stdin !== undefined) exec.stdinBase64 = request.stdin;
    const { result, cold } = await this.reused.run({ user, tag: capacityTag(record.owner, record.name), input, exec, minWarm: d.minWarm, idleTimeoutSeconds: d.idleTimeoutSeconds });
    const answer: InvocationResult = {
      exit_code: result.timed_out ? null : result.exit_code,
      stdout: result.stdout,
      stderr: result.stderr,
      duration_ms: Math.round(performance.now() - started),
      cold,
      timed_out: result.timed_out,
      truncated: result.truncated,
    };
    return answer;
  }

  private async run(user: User, record: FunctionRecord, request: InvokeRequest): Promise<InvocationResult> {
    if (record.definition.reuse) return this.runReused(user, record, request);
    const { containers } = this.options;
    const started = performance.now();
    const input = parseCreateRequest(this.createBody(record.definition, request), null, this.options.createLimits);
    const created = await containers.create(user, input, {
      warmTag: capacityTag(record.owner, record.name),
      report: { maxOutputBytes: this.options.outputMaxBytes },
      stdinBase64: request.stdin,
    });
    const id = created.id;
    try {
      // One call to the container's satellite: it waits for the exit and answers the exit code
      // and both outputs (no follow, no polling of the state from here).
      // One deadline for the whole invocation: a cold one on swarm spends part of it being placed.
      const deadline = started + record.definition.timeoutSeconds * 1000;
      const located = await this.placed(user, id, deadline);
      const [ran, warm] = located
        ? await Promise.all([
            this.options.locator.onEngine(located, (satellite, container) =>
              satellite.result(container, { timeoutMs: Math.max(1, Math.round(deadline - performance.now())), maxOutputBytes: this.options.outputMaxBytes }),
            ),
            this.ranWarm(located),
          ])
        : [{ exit_code: null, stdout: '', stderr: '', truncated: false, timed_out: true }, false];
      const timedOut = ran.timed_out;
      const exitCode = ran.exit_code;
      const cold = !warm;
      const result: InvocationResult = {
        exit_code: timedOut ? null : exitCode,
        stdout: ran.stdout,
        stderr: ran.stderr,
        duration_ms: Math.round(performance.now() - started),
        cold,
        timed_out: timedOut,
        truncated: ran.truncated,
      };
      // A timed-out invocation answers once its processes are gone.
      if (timedOut) await containers.delete(user, id);
      return result;
    } finally {
      // Removing the container kills whatever still runs in it: the whole process tree. The answer
      // does not wait for the engine's removal (the output is read already).
      this.removeLater(user, id);
    }
  }

  /**
   * The invocation's container once it is on a machine. A cold one on swarm is a service whose task
   * Swarm places a moment after the create (until then locate answers 409): waited for, up to the
   * invocation's deadline (null then: it timed out unplaced).
   */
  private async placed(user: User, id: string, deadlineMs: number): Promise<LocatedContainer | null> {
    for (let pauseMs = 25; ; pauseMs = Math.min(pauseMs * 2, 250)) {
      try {
        return await this.options.locator.locate(user, id);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
      const left = deadlineMs - performance.now();
      if (left <= 0) return null;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
    }
  }

  private removeLater(user: User, id: string): void {
    const removal: Promise<void> = this.options.containers
      .delete(user, id)
      .catch((err: Error) => this.options.logger.warn(`function container ${id} not removed: ${err.message}`))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Waits for the removals of finished invocations' containers (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.removals.size) await Promise.allSettled([...this.removals]);
  }

  /** Whether the run took a warm member (the engine's container carries the pool's label). */
  private async ranWarm({ satellite, container }: LocatedContainer): Promise<boolean> {
    try {
      const inspection = await satellite.cachedInspect(container);
      return inspection?.labels[LABELS.warmPool] !== undefined;
    } catch {
      return false;
    }
  }

  /** The functions as every replica sees them: the store's invocations, the engine's members. */
  private async views(records: FunctionRecord[]): Promise<FunctionView[]> {
    if (records.length === 0) return [];
    const nowMs = Date.now();
    const owners = new Set(records.map((r) => r.owner));
    const activity = owners.size === 1 ? await this.options.invocations.activity(nowMs, records[0].owner) : await this.options.invocations.activity(nowMs);
    const members = records.some((r) => !r.definition.reuse)
      ? await this.capacity.members().catch((err: Error) => {
          this.options.logger.warn(`function capacity not read from the engine: ${err.message}`);
          return new Map<string, DedicatedMembers>();
        })
      : new Map<string, DedicatedMembers>();
    return Promise.all(
      records.map(async (record) => {
        const now = activity.get(functionKey(record.owner, record.name)) ?? { inFlight: 0, lastActiveMs: null };
        const capacity = record.definition.reuse ? this.reused.view(capacityTag(record.owner, record.name)) : this.capacity.view(record, now, members);
        return this.view(record, { ...capacity, in_flight: now.inFlight }, await this.options.invocations.last(record.owner, record.name));
      }),
    );
  }

  private view(record: FunctionRecord, capacity: FunctionView['capacity'], lastInvocations: InvocationNote[]): FunctionView {
    const d = record.definition;
    return {
      name: record.name,
      owner: record.owner,
      image_name: d.imageName || this.options.createLimits.defaultImage,
      image_tag: d.imageTag || 'latest',
      cmd: d.cmd,
      has_script: d.script !== null,
      env: d.env,
      timeout: d.timeoutSeconds,
      memory: d.memory,
      cpus: d.cpus,
      min_warm: d.minWarm,
      max_warm: d.maxWarm,
      max_concurrency: d.maxConcurrency,
      idle_timeout: d.idleTimeoutSeconds,
      reuse: d.reuse === true,
      created: record.created,
      capacity,
      last_invocations: lastInvocations,
    };
  }
}
