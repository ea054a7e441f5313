/**
 * BoatLoadClient: a typed client for the BoatLoad API. JSON answers are parsed and typed; bodies
 * that can be large (output, files, archives, event streams) are answered as Node Readables, read
 * as they arrive. Every unwanted answer is a BoatLoadApiError with the API's status and body.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import WebSocket from 'ws';
import { BoatLoadApiError, BoatLoadConnectionError } from './errors';
import { CLIENT_ROUTES, fillPath, type RouteName } from './routes';
import { readEvents } from './sse';
import type {
  Change,
  ChangedFile,
  Container,
  ContainerMetrics,
  ContainerState,
  ContainerSummary,
  CreateContainerRequest,
  CreateFunctionRequest,
  ExecRequest,
  ExecResult,
  ExitInfo,
  FunctionInfo,
  InvocationResult,
  InvokeRequest,
  LogOptions,
  Machine,
  Me,
  Operation,
  OutputEvent,
  Snapshot,
  Unit,
  UnitDesiredState,
  UnitOption,
  UnitState,
  User,
  Volume,
} from './types';

export interface BoatLoadClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8000. */
  url: string;
  /** A JWT from login(); without one only login works. */
  token?: string;
  /** Sent as User-Agent. */
  userAgent?: string;
}

interface CallOptions {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Statuses that are a success (default: any 2xx). */
  accept?: (status: number) => boolean;
  /** Told of the request body's bytes as they are sent (see UploadProgress). */
  onUpload?: UploadProgress;
}

/** Bytes of a request body sent so far, and its size. */
export type UploadProgress = (sent: number, total: number) => void;

/** Request bodies are fed to the socket in pieces of this size when someone counts them. */
const UPLOAD_CHUNK_BYTES = 64 * 1024;

export interface WaitOptions {
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
  /** Poll interval (default 250 ms). */
  intervalMs?: number;
}

export interface TerminalOptions {
  cols?: number;
  rows?: number;
  cmd?: string[];
  user?: string;
  workdir?: string;
}

export interface StreamedBody {
  body: Readable;
  /** Content-Length when the API sent one. */
  length: number | null;
  headers: Record<string, string>;
}

export class BoatLoadClient {
  readonly url: string;
  private token: string | undefined;
  private readonly userAgent: string;

  constructor(options: BoatLoadClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.userAgent = options.userAgent ?? 'boatload-client';
  }

  // --- auth ---

  /** Exchanges a username and password for a JWT, which this client then uses. */
  async login(username: string, password: string): Promise<string> {
    const { token } = await this.json<{ token: string }>('tokenAuth', { body: { username, password } });
    this.token = token;
    return token;
  }

  /** The token back if it is valid (else a BoatLoadApiError, 400). */
  async verify(token = this.requireToken()): Promise<string> {
    return (await this.json<{ token: string }>('tokenVerify', { body: { token } })).token;
  }

  async refresh(token = this.requireToken()): Promise<string> {
    const { token: fresh } = await this.json<{ token: string }>('tokenRefresh', { body: { token } });
    this.token = fresh;
    return fresh;
  }

  me(): Promise<Me> {
    return this.json('me');
  }

  async changePassword(input: { old_password: string; new_password: string }): Promise<void> {
    await this.call('changePassword', { body: input });
  }

  // --- containers ---

  listContainers(): Promise<ContainerSummary[]> {
    return this.json('listContainers');
  }

  /**
   * Creates a container; `waitReady` answers once it is ready, exited or failed. `onUpload` is told
   * how much of the request (the script, base64) has gone.
   */
  createContainer(request: CreateContainerRequest, options: { waitReady?: boolean; timeoutSeconds?: number; onUpload?: UploadProgress } = {}): Promise<Container> {
    const body: Record<string, unknown> = { ...request };
    if (Buffer.isBuffer(request.script)) body.script = request.script.toString('base64');
    const query = options.waitReady ? { wait: 'ready', timeout: options.timeoutSeconds } : undefined;
    return this.json('createContainer', { body, query, onUpload: options.onUpload });
  }

  batchCreate(requests: CreateContainerRequest[]): Promise<Operation> {
    const body = { requests: requests.map((r) => (Buffer.isBuffer(r.script) ? { ...r, script: r.script.toString('base64') } : r)) };
    return this.operation('batchCreate', { body });
  }

  getContainer(id: string): Promise<Container> {
    return this.json('getContainer', { params: { id } });
  }

  async deleteContainer(id: string): Promise<void> {
    await this.call('deleteContainer', { params: { id } });
  }

  state(id: string): Promise<ContainerState> {
    return this.json('containerState', { params: { id } });
  }

  metrics(id: string): Promise<ContainerMetrics> {
    return this.json('containerMetrics', { params: { id } });
  }

  changes(id: string): Promise<Change[]> {
    return this.json('containerChanges', { params: { id } });
  }

  files(id: string): Promise<ChangedFile[]> {
    return this.json('containerFiles', { params: { id } });
  }

  /** One file of the container, streamed. */
  file(id: string, path: string): Promise<StreamedBody> {
    return this.stream('containerFile', { params: { id, filepath: path } });
  }

  fileByNumber(id: string, num: number): Promise<StreamedBody> {
    return this.stream('containerFileByNumber', { params: { id, num } });
  }

  /** A tar (gzip: .tar.gz) of every changed file, streamed. */
  archive(id: string, options: { gzip?: boolean } = {}): Promise<StreamedBody> {
    return this.stream('containerArchive', { params: { id }, query: options.gzip ? { gzip: true } : undefined });
  }

  /** The output as text, streamed; `follow` keeps it open until the container exits. */
  stdout(id: string, options: LogOptions = {}): Promise<StreamedBody> {
    return this.stream('containerStdout', { params: { id }, query: { stream: options.stream, follow: options.follow, tail: options.tail } });
  }

  async script(id: string): Promise<Buffer> {
    const { body } = await this.stream('containerScript', { params: { id } });
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Readiness now, or (timeoutSeconds) once it settles. */
  ready(id: string, timeoutSeconds?: number): Promise<Container> {
    return this.json('containerReady', { params: { id }, query: { timeout: timeoutSeconds } });
  }

  exec(id: string, request: ExecRequest): Promise<ExecResult> {
    return this.json('containerExec', { params: { id }, body: request });
  }

  /** Live output as Server-Sent Events: the raw stream (see events() to read it). */
  streamOutput(id: string, options: { since?: string } = {}): Promise<StreamedBody> {
    return this.stream('containerStream', { params: { id }, query: { since: options.since } });
  }

  /** Live output, event by event: `stdout`/`stderr` lines, then one `exit`. */
  async *events(id: string, options: { since?: string } = {}): AsyncGenerator<OutputEvent> {
    const { body } = await this.streamOutput(id, options);
    try {
      yield* readEvents(body);
    } finally {
      body.destroy();
    }
  }

  /** The `exit` event's data. */
  static exitInfo(event: OutputEvent): ExitInfo {
    const parsed = JSON.parse(event.data) as Partial<ExitInfo>;
    return { exit_code: parsed.exit_code ?? null, error: parsed.error ?? null, finished_at: parsed.finished_at ?? null };
  }

  /**
   * An interactive terminal: the open WebSocket (see README "Terminal" for its messages).
   * Refusals before the upgrade (401, 404, 409) reject with a BoatLoadApiError.
   */
  terminal(id: string, options: TerminalOptions = {}): Promise<WebSocket> {
    const route = CLIENT_ROUTES.containerTerminal;
    const url = new URL(this.url + fillPath(route.path, { id }));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (options.cols) url.searchParams.set('cols', String(options.cols));
    if (options.rows) url.searchParams.set('rows', String(options.rows));
    for (const part of options.cmd ?? []) url.searchParams.append('cmd', part);
    if (options.user) url.searchParams.set('user', options.user);
    if (options.workdir) url.searchParams.set('workdir', options.workdir);
    const socket = new WebSocket(url, { headers: this.headers() });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => reject(new BoatLoadApiError({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')), method: route.method, path: route.path })));
      });
      socket.once('error', (err) => reject(new BoatLoadConnectionError(this.url, err)));
    });
  }

  start(id: string): Promise<Operation> {
    return this.operation('containerStart', { params: { id } });
  }

  stop(id: string): Promise<Operation> {
    return this.operation('containerStop', { params: { id } });
  }

  restart(id: string): Promise<Operation> {
    return this.operation('containerRestart', { params: { id } });
  }

  snapshot(id: string, options: { name?: string } = {}): Promise<Operation> {
    return this.operation('containerSnapshot', { params: { id }, body: options.name ? { name: options.name } : {} });
  }

  fork(id: string, options: { count?: number } = {}): Promise<Operation> {
    return this.operation('containerFork', { params: { id }, body: options.count ? { count: options.count } : {} });
  }

  // --- operations ---

  async listOperations(): Promise<Operation[]> {
    return (await this.json<{ operations: Operation[] }>('listOperations')).operations;
  }

  async getOperation(id: string): Promise<Operation> {
    return (await this.json<{ operation: Operation }>('getOperation', { params: { id } })).operation;
  }

  /** Polls an operation until it succeeded or failed (a failed one is answered, not thrown). */
  async waitOperation(id: string, options: WaitOptions = {}): Promise<Operation> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const operation = await this.getOperation(id);
      if (operation.status === 'succeeded' || operation.status === 'failed') return operation;
      if (Date.now() > deadline) throw new Error(`operation ${id} still ${operation.status} after ${options.timeoutMs ?? 120_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  // --- snapshots, volumes ---

  listSnapshots(): Promise<Snapshot[]> {
    return this.json('listSnapshots');
  }

  getSnapshot(id: string): Promise<Snapshot> {
    return this.json('getSnapshot', { params: { id } });
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.call('deleteSnapshot', { params: { id } });
  }

  listVolumes(): Promise<Volume[]> {
    return this.json('listVolumes');
  }

  createVolume(input: { name: string }): Promise<Volume> {
    return this.json('createVolume', { body: input });
  }

  getVolume(id: string): Promise<Volume> {
    return this.json('getVolume', { params: { id } });
  }

  async deleteVolume(id: string): Promise<void> {
    await this.call('deleteVolume', { params: { id } });
  }

  // --- functions ---

  listFunctions(): Promise<FunctionInfo[]> {
    return this.json('listFunctions');
  }

  createFunction(input: CreateFunctionRequest): Promise<FunctionInfo> {
    const body = { ...input, script: Buffer.isBuffer(input.script) ? input.script.toString('base64') : input.script };
    return this.json('createFunction', { body });
  }

  getFunction(name: string): Promise<FunctionInfo> {
    return this.json('getFunction', { params: { name } });
  }

  async deleteFunction(name: string): Promise<void> {
    await this.call('deleteFunction', { params: { name } });
  }

  /** Runs it now and answers its result (a 429 over its max_concurrency is a BoatLoadApiError). */
  invokeFunction(name: string, input: InvokeRequest = {}): Promise<InvocationResult> {
    return this.json('invokeFunction', { params: { name }, body: invokeBody(input) });
  }

  /** Runs it in the background: the operation to follow (waitOperation; its result is the InvocationResult). */
  invokeFunctionLater(name: string, input: InvokeRequest = {}): Promise<Operation> {
    return this.json('invokeFunction', { params: { name }, query: { async: 'true' }, body: invokeBody(input) });
  }

  // --- users (admins) ---

  listUsers(): Promise<User[]> {
    return this.json('listUsers');
  }

  createUser(input: { username: string; password: string; is_admin?: boolean }): Promise<User> {
    return this.json('createUser', { body: input });
  }

  async deleteUser(username: string): Promise<void> {
    await this.call('deleteUser', { params: { username } });
  }

  // --- units (the fleet API, admins) ---

  async listUnits(): Promise<Unit[]> {
    const units: Unit[] = [];
    let nextPageToken: string | undefined;
    do {
      const page = await this.json<{ units?: Unit[]; nextPageToken?: string }>('listUnits', { query: { nextPageToken } });
      units.push(...(page.units ?? []));
      nextPageToken = page.nextPageToken;
    } while (nextPageToken);
    return units;
  }

  getUnit(name: string): Promise<Unit> {
    return this.json('getUnit', { params: { name } });
  }

  /** Creates a unit (options, desiredState) or changes its desired state. */
  async putUnit(name: string, input: { options?: UnitOption[]; desiredState?: UnitDesiredState }): Promise<void> {
    await this.call('putUnit', { params: { name }, body: { ...(input.options ? { name, options: input.options } : {}), ...(input.desiredState ? { desiredState: input.desiredState } : {}) } });
  }

  async deleteUnit(name: string): Promise<void> {
    await this.call('deleteUnit', { params: { name } });
  }

  async unitStates(options: { unitName?: string } = {}): Promise<UnitState[]> {
    const states: UnitState[] = [];
    let nextPageToken: string | undefined;
    do {
      const page = await this.json<{ states?: UnitState[]; nextPageToken?: string }>('unitStates', { query: { unitName: options.unitName, nextPageToken } });
      states.push(...(page.states ?? []));
      nextPageToken = page.nextPageToken;
    } while (nextPageToken);
    return states;
  }

  async listMachines(): Promise<Machine[]> {
    return (await this.json<{ machines?: Machine[] }>('listMachines')).machines ?? [];
  }

  // --- transport ---

  private requireToken(): string {
    if (!this.token) throw new Error('Not logged in: no token.');
    return this.token;
  }

  private headers(): Record<string, string> {
    return { 'User-Agent': this.userAgent, ...(this.token ? { Authorization: `JWT ${this.token}` } : {}) };
  }

  private async operation(name: RouteName, options: CallOptions): Promise<Operation> {
    return (await this.json<{ operation: Operation }>(name, options)).operation;
  }

  private async json<T>(name: RouteName, options: CallOptions = {}): Promise<T> {
    const res = await this.call(name, options);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async stream(name: RouteName, options: CallOptions = {}): Promise<StreamedBody> {
    const res = await this.call(name, options);
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => (headers[key] = value));
    const length = res.headers.get('content-length');
    const body = res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    return { body, length: length === null ? null : Number(length), headers };
  }

  private async call(name: RouteName, options: CallOptions = {}): Promise<Response> {
    const route = CLIENT_ROUTES[name];
    const url = new URL(this.url + fillPath(route.path, options.params));
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = this.headers();
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
      if (options.onUpload) {
        const bytes = Buffer.from(body, 'utf8');
        headers['Content-Length'] = String(bytes.length);
        body = countedBody(bytes, options.onUpload);
      }
    }
    let res: Response;
    try {
      // duplex: fetch's required word for a streamed request body.
      res = await fetch(url, { method: route.method, headers, body, ...(typeof body === 'object' ? { duplex: 'half' } : {}) });
    } catch (err) {
      throw new BoatLoadConnectionError(this.url, err);
    }
    if (!(options.accept ?? ((status: number) => status >= 200 && status < 300))(res.status)) {
      const text = await res.text().catch(() => '');
      throw new BoatLoadApiError({ status: res.status, body: parseBody(text), method: route.method, path: route.path });
    }
    return res;
  }
}

/** The bytes as a stream that reports each piece as fetch takes it (it takes as the socket drains). */
function countedBody(bytes: Buffer, onUpload: UploadProgress): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes.length) {
        controller.close();
        return;
      }
      const piece = bytes.subarray(sent, sent + UPLOAD_CHUNK_BYTES);
      sent += piece.length;
      controller.enqueue(piece);
      onUpload(sent, bytes.length);
    },
  });
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An invocation's body: stdin bytes go as base64. */
function invokeBody(input: InvokeRequest): Record<string, unknown> {
  return input.stdin === undefined ? { ...input } : { ...input, stdin: Buffer.isBuffer(input.stdin) ? input.stdin.toString('base64') : input.stdin };
}
