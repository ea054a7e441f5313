/**
 * The API's client for one satellite: signed JSON calls and streamed reads. Errors come back as
 * typed HttpErrors: the satellite's own 4xx pass through; an unreachable satellite is a 503 that
 * names it; a refused signature is a 502 (our fault, not the user's).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import fetch, { type Response } from 'node-fetch';
import WebSocket from 'ws';
import { BadGatewayError, HttpError, NotFoundError, ServiceUnavailableError, type ErrorBody } from '../../common/errors';
import type {
  ContainerInspection,
  ContainerMetrics,
  ContainerSummary,
  ChangeEntry,
  CommitRequest,
  CommitResult,
  CreateContainerRequest,
  CreateContainerResponse,
  ExecRequest,
  RunResult,
  RunResultRequest,
  ExecResult,
  FileEntry,
  MachineInfo,
  SatelliteHealth,
  VolumeCreateRequest,
  VolumeInfo,
  ContainerDiskUsage,
  VolumeDiskUsage,
  VolumeUsageRequest,
  HostMemory,
  WarmCreateRequest,
  WarmTakeRequest,
} from '../../common/satellite-protocol';
import { currentRequestId, outsideRequest, REQUEST_ID_HEADER } from '../../common/request-context';
import { signRequest } from '../../common/signing';
import type { Logger } from '../../common/logger';
import type { HostAgent } from '../../units/scheduler/host-agent';
import { operationOf, streamKindOf, type SatelliteCallObserver } from './call-observer';
import { EventFeed } from './event-feed';
import { InspectionCache, type ReplicaContainerChanges } from './inspection-cache';

export interface SatelliteClientOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  /** Names the satellite's host in error messages. */
  label: string;
  logger?: Logger;
  /** Told of every call and of streamed bytes (for metrics); optional. */
  observer?: SatelliteCallObserver;
  /** The other API replicas' writes to containers (their cached inspections go too); optional. */
  replicas?: ReplicaContainerChanges;
}

interface SatelliteRequest {
  method: string;
  path: string;
  json?: unknown;
  /** A stream: only the wait for the headers is bounded by the timeout. */
  streaming?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent once more already (after a reset kept-alive socket). */
  retried?: boolean;
}

/**
 * Whether sending the request twice does no more than sending it once: reads; start, stop and remove
 * (already started, stopped or gone is not an error); and a create without data to stage (its repeat
 * meets the container the first one made, which the scheduler adopts as its own).
 */
function isRepeatable(method: string, path: string, json: unknown): boolean {
  if (method === 'GET') return true;
  if (method === 'DELETE') return path.startsWith('/containers/');
  if (method !== 'POST') return false;
  if (/^\/containers\/[^/?]+\/(start|stop)(\?|$)/.test(path)) return true;
  return path === '/containers' && (json as { data?: unknown } | undefined)?.data === undefined;
}

/** The container a write to the satellite is about: /containers/<name>/..., or a create's spec. */
function containerNameIn(path: string, json: unknown): string | null {
  const match = /^\/containers\/([^/?]+)/.exec(path);
  if (match) return decodeURIComponent(match[1]);
  const spec = (json as { spec?: { name?: unknown } } | undefined)?.spec;
  return path === '/containers' && typeof spec?.name === 'string' ? spec.name : null;
}

export interface StreamedResponse {
  headers: Record<string, string>;
  body: Readable;
  /** Counts bytes as they are relayed to the client (api/http/relay.ts); absent without metrics. */
  meter?: (bytes: number) => void;
}

export interface LogQuery {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number;
}

export class SatelliteClient implements HostAgent {
  private readonly agent: HttpAgent;
  /**
   * Long calls (streams, execs, commits) get their own pool: dozens of followed streams or
   * minutes-long execs must never take the sockets that scheduling and reads need.
   */
  private readonly longAgent: HttpAgent;

  private readonly inspections = new InspectionCache();
  private readonly events: EventFeed;
  private readonly unsubscribeReplicas: () => void;

  constructor(private readonly options: SatelliteClientOptions) {
    this.events = new EventFeed({
      label: options.label,
      logger: options.logger,
      open: async (signal) => (await this.send({ method: 'GET', path: '/events', streaming: true, signal })).body as unknown as Readable,
      onLive: (live) => this.inspections.setLive(live),
      onLine: (line) => {
        if (!('id' in line)) return;
        // A rename changes the key an entry is kept under: start afresh.
        if (line.action === 'rename') this.inspections.clear();
        else this.inspections.forget(line.id, line.name);
      },
    });
    this.unsubscribeReplicas =
      options.replicas?.subscribe({ changed: (container) => this.inspections.forget(container), live: (live) => this.inspections.setReplicasLive(live) }) ?? (() => undefined);
    this.agent = options.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    this.longAgent = options.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /** Stops the event feed and closes idle keep-alive connections. */
  close(): void {
    this.unsubscribeReplicas();
    this.events.stop();
    this.agent.destroy();
    this.longAgent.destroy();
  }

  get label(): string {
    return this.options.label;
  }

  private async send(request: SatelliteRequest): Promise<Response> {
    const { method, path, json, streaming = false } = request;
    const long = streaming || request.timeoutMs !== undefined;
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    // Writes to a container change what its inspection says, before and after they answer.
    const written = method === 'GET' ? null : containerNameIn(path, json);
    if (written) this.inspections.forget(written);
    const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
    const headers: Record<string, string> = { ...signRequest(this.options.secret, { method, path, body }) };
    if (json !== undefined) headers['content-type'] = 'application/json';
    // The request this call serves, for the satellite's log lines (not signed: it only labels).
    const requestId = currentRequestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    const timeout = setTimeout(abort, timeoutMs);
    request.signal?.addEventListener('abort', abort, { once: true });
    // The timer and the caller's signal are let go once the answer is complete (or never read).
    const done = (): void => {
      clearTimeout(timeout);
      request.signal?.removeEventListener('abort', abort);
    };
    let response: Response;
    const started = performance.now();
    const observe = (outcome: 'answered' | 'unreachable'): void =>
      this.options.observer?.call({ satellite: this.options.label, operation: operationOf(method, path), seconds: (performance.now() - started) / 1000, outcome });
    try {
      response = await fetch(this.options.url + path, { method, headers, body: json === undefined ? undefined : body, agent: long ? this.longAgent : this.agent, signal: controller.signal });
      observe('answered');
    } catch (err) {
      done();
      observe('unreachable');
      // A kept-alive socket the satellite closed while idle fails on reuse with ECONNRESET before any
      // answer: a request that is safe to repeat is sent once more (re-signed, so with a fresh nonce).
      if (!request.retried && isRepeatable(method, path, json) && (err as { code?: string }).code === 'ECONNRESET') {
        return this.send({ ...request, retried: true });
      }
      const reason = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : ((err as { code?: string }).code ?? (err as Error).message);
      throw new ServiceUnavailableError(`The satellite for ${this.options.label} is unavailable: ${reason}.`);
    }
    if (written) {
      this.inspections.forget(written);
      this.options.replicas?.publish(written);
    }
    // Streams may run as long as they need; only the wait for the headers is bounded. An answer
    // without a body (204) never emits 'end': nothing is left to wait for.
    if (streaming) clearTimeout(timeout);
    else if (response.status === 204 || response.headers.get('content-length') === '0') done();
    else response.body.once('end', done).once('error', done).once('close', done);
    if (!response.ok) {
      done();
      throw await this.errorFrom(response);
    }
    return response;
  }

  private async errorFrom(response: Response): Promise<HttpError> {
    let body: ErrorBody;
    try {
      body = (await response.json()) as ErrorBody;
    } catch {
      body = { detail: `HTTP ${response.status}` };
    }
    return this.errorOf(response.status, body);
  }

  private errorOf(status: number, body: ErrorBody): HttpError {
    if (status === 401) return new BadGatewayError(`The satellite for ${this.options.label} refused the API's signature; check SATELLITE_SECRET.`);
    if (status === 503) return new ServiceUnavailableError(`${this.options.label}: ${'detail' in body ? String(body.detail) : 'unavailable'}`);
    if (status >= 500) return new BadGatewayError(`${this.options.label}: ${'detail' in body ? String(body.detail) : `HTTP ${status}`}`);
    return new HttpError(status, body);
  }

  private async json<T>(method: string, path: string, json?: unknown, timeoutMs?: number): Promise<T> {
    const response = await this.send({ method, path, json, timeoutMs });
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async stream(path: string): Promise<StreamedResponse> {
    const response = await this.send({ method: 'GET', path, streaming: true });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    const observer = this.options.observer;
    const kind = streamKindOf(path);
    return { headers, body: response.body as unknown as Readable, ...(observer ? { meter: (bytes: number) => observer.streamBytes(kind, bytes) } : {}) };
  }

  private containerPath(name: string, rest = ''): string {
    return `/containers/${encodeURIComponent(name)}${rest}`;
  }

  health(): Promise<SatelliteHealth> {
    return this.json('GET', '/health');
  }

  machine(): Promise<MachineInfo> {
    return this.json('GET', '/machine');
  }

  create(request: CreateContainerRequest): Promise<CreateContainerResponse> {
    return this.json<CreateContainerResponse>('POST', '/containers', request);
  }

  /** Creates and starts a warm pool member (satellite/warm-members.ts). */
  createWarm(request: WarmCreateRequest): Promise<ContainerInspection> {
    return this.json<ContainerInspection>('POST', '/warm', request);
  }

  /** Stages a run's script in warm member `name` and starts it there. */
  takeWarm(name: string, request: WarmTakeRequest): Promise<ContainerInspection> {
    return this.json<ContainerInspection>('POST', `/warm/${encodeURIComponent(name)}/take`, request);
  }

  hostMemory(): Promise<HostMemory> {
    return this.json<HostMemory>('GET', '/host/memory');
  }

  async start(name: string): Promise<ContainerInspection> {
    const inspection = await this.json<ContainerInspection | undefined>('POST', this.containerPath(name, '/start'));
    // A satellite of an earlier version answers 204 without a body.
    return inspection ?? (await this.inspectOrFail(name));
  }

  private async inspectOrFail(name: string): Promise<ContainerInspection> {
    const inspection = await this.inspect(name);
    if (!inspection) throw new NotFoundError(`container ${name} not found.`);
    return inspection;
  }

  stop(name: string, timeoutSeconds: number): Promise<void> {
    return this.json('POST', this.containerPath(name, `/stop?timeout=${timeoutSeconds}`));
  }

  remove(name: string): Promise<void> {
    return this.json('DELETE', this.containerPath(name));
  }

  /**
   * The container's inspection as of the latest engine event: kept between reads while this
   * satellite's event feed is live (the feed starts with the first such read), else read afresh.
   */
  cachedInspect(name: string): Promise<ContainerInspection | null> {
    // The feed outlives the request that happens to start it: it runs outside that request's id.
    outsideRequest(() => this.events.start());
    return this.inspections.read(name, () => this.inspect(name));
  }

  /** The container's inspection, read from the engine now. */
  async inspect(name: string): Promise<ContainerInspection | null> {
    try {
      return await this.json<ContainerInspection>('GET', this.containerPath(name));
    } catch (err) {
      if (err instanceof NotFoundError || (err instanceof HttpError && err.status === 404)) return null;
      throw err;
    }
  }

  /** `timeoutMs`: a bound of its own for this read (default: the client's). */
  list(labelFilters: string[], options: { timeoutMs?: number } = {}): Promise<ContainerSummary[]> {
    const query = labelFilters.map((l) => `label=${encodeURIComponent(l)}`).join('&');
    return this.json('GET', `/containers${query ? `?${query}` : ''}`, undefined, options.timeoutMs);
  }

  metrics(name: string): Promise<ContainerMetrics> {
    return this.json('GET', this.containerPath(name, '/metrics'));
  }

  changes(name: string): Promise<ChangeEntry[]> {
    return this.json('GET', this.containerPath(name, '/changes'));
  }

  files(name: string): Promise<FileEntry[]> {
    return this.json('GET', this.containerPath(name, '/files'));
  }

  logs(name: string, query: LogQuery): Promise<StreamedResponse> {
    const params = new URLSearchParams({ stdout: String(query.stdout), stderr: String(query.stderr), follow: String(query.follow) });
    if (query.tail !== undefined) params.set('tail', String(query.tail));
    return this.stream(this.containerPath(name, `/logs?${params.toString()}`));
  }

  file(name: string, path: string): Promise<StreamedResponse> {
    return this.stream(this.containerPath(name, `/file?path=${encodeURIComponent(path)}`));
  }

  archive(name: string, gzip: boolean): Promise<StreamedResponse> {
    return this.stream(this.containerPath(name, `/archive?gzip=${gzip}`));
  }

  // ---- Work inside containers and on engine objects (satellite/container-session-routes.ts, engine-object-routes.ts).

  /** Runs a command to its end; the call may take the command's whole timeout. */
  exec(name: string, request: ExecRequest): Promise<ExecResult> {
    // The kill of a timed-out exec and the engine's answer need a little longer than the command.
    return this.json('POST', this.containerPath(name, '/exec'), request, request.timeoutMs + this.options.timeoutMs);
  }

  /** Waits for a run's exit (at most timeoutMs) and answers its exit code and output. */
  result(name: string, request: RunResultRequest): Promise<RunResult> {
    return this.json('POST', this.containerPath(name, '/result'), request, request.timeoutMs + this.options.timeoutMs);
  }

  ready(name: string): Promise<{ ready: boolean; reason: string | null }> {
    return this.json('GET', this.containerPath(name, '/ready'));
  }

  /** Server-Sent Events of the container's output; `since` is `seconds.nanoseconds`. */
  output(name: string, since: string | null, exclusive: boolean): Promise<StreamedResponse> {
    const params = new URLSearchParams();
    if (since !== null) params.set('since', since);
    if (exclusive) params.set('exclusive', '1');
    return this.stream(this.containerPath(name, `/output${params.size ? `?${params.toString()}` : ''}`));
  }

  /**
   * Opens a terminal WebSocket to the satellite (signed like every call). A refusal (404, 409)
   * rejects with the satellite's error, before the caller completes its own handshake.
   */
  openTerminal(name: string, query: URLSearchParams): Promise<WebSocket> {
    const path = this.containerPath(name, `/terminal${query.size ? `?${query.toString()}` : ''}`);
    const headers: Record<string, string> = { ...signRequest(this.options.secret, { method: 'GET', path, body: Buffer.alloc(0) }) };
    const requestId = currentRequestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    const url = this.options.url.replace(/^http/, 'ws') + path;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: this.options.timeoutMs, maxPayload: 4 * 1024 * 1024 });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let body: ErrorBody;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ErrorBody;
          } catch {
            body = { detail: `HTTP ${response.statusCode}` };
          }
          reject(this.errorOf(response.statusCode ?? 502, body));
        });
        response.on('error', () => reject(new BadGatewayError(`${this.options.label}: the terminal handshake failed.`)));
      });
      ws.once('error', (err: Error & { code?: string }) => {
        reject(new ServiceUnavailableError(`The satellite for ${this.options.label} is unavailable: ${err.code ?? err.message}.`));
      });
    });
  }

  commit(name: string, request: CommitRequest): Promise<CommitResult> {
    // A commit copies the container's whole filesystem: allow it time.
    return this.json('POST', this.containerPath(name, '/commit'), request, Math.max(this.options.timeoutMs, 300_000));
  }

  removeImage(reference: string): Promise<void> {
    // A busy engine can take a while to delete an image's layers.
    return this.json('DELETE', `/images/${encodeURIComponent(reference)}`, undefined, Math.max(this.options.timeoutMs, 120_000));
  }

  createVolume(request: VolumeCreateRequest): Promise<VolumeInfo> {
    return this.json('POST', '/volumes', request);
  }

  inspectVolume(name: string): Promise<VolumeInfo> {
    return this.json('GET', `/volumes/${encodeURIComponent(name)}`);
  }

  removeVolume(name: string): Promise<void> {
    return this.json('DELETE', `/volumes/${encodeURIComponent(name)}`);
  }

  /** Writable-layer sizes of the containers with these labels (the engine walks each layer). */
  containerDiskUsage(labelFilters: string[]): Promise<ContainerDiskUsage[]> {
    const query = labelFilters.map((l) => `label=${encodeURIComponent(l)}`).join('&');
    return this.json('GET', `/usage/containers?${query}`, undefined, Math.max(this.options.timeoutMs, 120_000));
  }

  /** Sizes of these volumes, measured in a helper container of `image`. */
  volumeDiskUsage(request: VolumeUsageRequest): Promise<VolumeDiskUsage[]> {
    return this.json('POST', '/usage/volumes', request, Math.max(this.options.timeoutMs, 120_000));
  }
}
