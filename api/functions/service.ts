/**
 * Functions: a named script (or command) with its image, variables, limits and timeout, invoked
 * with arguments. Every invocation is a container run of its own, created through the container
 * service (so quotas, limits and validation are a container's), warm when the installation's warm
 * pool has a member of its class; its output is read back and the container removed. An
 * invocation past its timeout has its container removed (the engine kills the whole process tree).
 */
import { ConflictError, NotFoundError, TooManyRequestsError } from '../../common/errors';
import { LABELS } from '../../common/labels';
import type { ContainerService } from '../containers/service';
import { parseCreateRequest, type CreateRequestLimits } from '../containers/create-request';
import type { ContainerLocator } from '../containers/locator';
import type { OperationService, OperationView } from '../operations/service';
import type { FunctionDefinition, FunctionRecord, FunctionRepository } from '../store/functions';
import type { User } from '../store/users';
import type { FunctionRequest, InvokeRequest } from './requests';

export interface FunctionServiceOptions {
  functions: FunctionRepository;
  containers: ContainerService;
  locator: ContainerLocator;
  operations: OperationService;
  createLimits: CreateRequestLimits;
  /** Largest stdout and stderr an invocation answers (each; the rest is cut, `truncated`). */
  outputMaxBytes: number;
  /** How often an invocation looks at its container's state. */
  pollMs?: number;
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

interface InvocationNote {
  at: string;
  status: 'ok' | 'failed' | 'timed out';
  duration_ms: number;
  cold: boolean;
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
  created: string;
  capacity: { in_flight: number };
  last_invocations: InvocationNote[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const LAST_INVOCATIONS = 10;

export class FunctionService {
  private readonly inFlight = new Map<string, number>();
  private readonly notes = new Map<string, InvocationNote[]>();

  constructor(private readonly options: FunctionServiceOptions) {}

  create(owner: User, request: FunctionRequest): FunctionView {
    // Checked as a container create now, so that a bad script or limit is a 400 here, not at invoke.
    parseCreateRequest(this.createBody(request.definition, { args: [], env: {} }), null, this.options.createLimits);
    const record: FunctionRecord = { owner: owner.username, name: request.name, definition: request.definition, created: new Date().toISOString() };
    if (!this.options.functions.insert(record)) throw new ConflictError(`You have a function named ${request.name} already.`);
    return this.view(record);
  }

  list(user: User): FunctionView[] {
    return this.options.functions.list(user.username).map((r) => this.view(r));
  }

  get(user: User, name: string): FunctionView {
    return this.view(this.owned(user, name));
  }

  delete(user: User, name: string): void {
    this.owned(user, name);
    this.options.functions.delete(user.username, name);
    this.notes.delete(this.key(user.username, name));
  }

  /** A deleted user's functions go with them. */
  deleteOwnedBy(username: string): void {
    for (const record of this.options.functions.list(username)) {
      this.options.functions.delete(username, record.name);
      this.notes.delete(this.key(username, record.name));
    }
  }

  /** Runs it now and answers the result (429 over max_concurrency). */
  async invoke(user: User, name: string, request: InvokeRequest): Promise<InvocationResult> {
    const record = this.owned(user, name);
    const release = this.admit(record);
    try {
      return await this.run(user, record, request);
    } finally {
      release();
    }
  }

  /** Admits it now (429 over max_concurrency) and runs it in the background as an operation. */
  async invokeLater(user: User, name: string, request: InvokeRequest): Promise<OperationView> {
    const record = this.owned(user, name);
    const release = this.admit(record);
    try {
      return await this.options.operations.start({
        owner: user,
        kind: 'invoke',
        target: `/v1/functions/${name}`,
        run: async () => {
          try {
            return await this.run(user, record, request);
          } finally {
            release();
          }
        },
      });
    } catch (err) {
      release();
      throw err;
    }
  }

  private key(owner: string, name: string): string {
    return `${owner}/${name}`;
  }

  /** Functions are looked up among the caller's own: someone else's is a 404. */
  private owned(user: User, name: string): FunctionRecord {
    const record = this.options.functions.find(user.username, name);
    if (!record) throw new NotFoundError();
    return record;
  }

  private admit(record: FunctionRecord): () => void {
    const key = this.key(record.owner, record.name);
    const running = this.inFlight.get(key) ?? 0;
    if (running >= record.definition.maxConcurrency) {
      throw new TooManyRequestsError(`${record.name} runs ${running} invocations, its max_concurrency; try again shortly.`, 1);
    }
    this.inFlight.set(key, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.inFlight.get(key) ?? 1) - 1;
      if (now > 0) this.inFlight.set(key, now);
      else this.inFlight.delete(key);
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
    return body;
  }

  private async run(user: User, record: FunctionRecord, request: InvokeRequest): Promise<InvocationResult> {
    const { containers } = this.options;
    const started = performance.now();
    const input = parseCreateRequest(this.createBody(record.definition, request), null, this.options.createLimits);
    const created = await containers.create(user, input);
    const id = created.id;
    try {
      const deadline = Date.now() + record.definition.timeoutSeconds * 1000;
      let exitCode: number | null = null;
      let timedOut = false;
      for (;;) {
        const state = await containers.state(user, id);
        const docker = state.docker_state;
        if ('Status' in docker && (docker.Status === 'exited' || docker.Status === 'dead')) {
          exitCode = docker.ExitCode;
          break;
        }
        if (state.status === 'error' || state.status === 'lost') break;
        if (Date.now() >= deadline) {
          timedOut = true;
          break;
        }
        await sleep(this.options.pollMs ?? 20);
      }
      const cold = !(await this.ranWarm(user, id));
      const stdout = await this.output(user, id, 'stdout');
      const stderr = await this.output(user, id, 'stderr');
      const result: InvocationResult = {
        exit_code: timedOut ? null : exitCode,
        stdout: stdout.text,
        stderr: stderr.text,
        duration_ms: Math.round(performance.now() - started),
        cold,
        timed_out: timedOut,
        truncated: stdout.truncated || stderr.truncated,
      };
      this.note(record, { at: new Date().toISOString(), status: timedOut ? 'timed out' : exitCode === 0 ? 'ok' : 'failed', duration_ms: result.duration_ms, cold });
      return result;
    } finally {
      // Removing the container kills whatever still runs in it: the whole process tree.
      await containers.delete(user, id).catch(() => undefined);
    }
  }

  private async ranWarm(user: User, id: string): Promise<boolean> {
    try {
      const { satellite, container } = await this.options.locator.locate(user, id);
      const inspection = await satellite.cachedInspect(container);
      return inspection?.labels[LABELS.warmPool] !== undefined;
    } catch {
      return false;
    }
  }

  private async output(user: User, id: string, stream: 'stdout' | 'stderr'): Promise<{ text: string; truncated: boolean }> {
    const max = this.options.outputMaxBytes;
    const answer = await this.options.containers.logs(user, id, { stdout: stream === 'stdout', stderr: stream === 'stderr', follow: false });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    for await (const chunk of answer.body) {
      const buffer = chunk as Buffer;
      if (size + buffer.length > max) {
        chunks.push(buffer.subarray(0, max - size));
        truncated = true;
        answer.body.destroy();
        break;
      }
      chunks.push(buffer);
      size += buffer.length;
    }
    return { text: Buffer.concat(chunks).toString('utf8'), truncated };
  }

  private note(record: FunctionRecord, note: InvocationNote): void {
    const key = this.key(record.owner, record.name);
    const notes = [note, ...(this.notes.get(key) ?? [])].slice(0, LAST_INVOCATIONS);
    this.notes.set(key, notes);
  }

  private view(record: FunctionRecord): FunctionView {
    const d = record.definition;
    const key = this.key(record.owner, record.name);
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
      created: record.created,
      capacity: { in_flight: this.inFlight.get(key) ?? 0 },
      last_invocations: this.notes.get(key) ?? [],
    };
  }
}
