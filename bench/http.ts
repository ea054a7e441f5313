/**
 * A small keep-alive HTTP client for the bench, over TCP (BoatLoad) or a unix socket (the raw
 * engine). Bodies are either read whole (small JSON answers) or drained and counted (streams).
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface Target {
  host?: string;
  port?: number;
  socketPath?: string;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T>(): T;
}

export interface Drained {
  status: number;
  bytes: number;
  ms: number;
  /** How many chunks the body arrived in (many small chunks cost every hop a write each). */
  chunks?: number;
}

export class HttpError extends Error {
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly body: string) {
    super(`${method} ${path} answered ${status}: ${body.slice(0, 300)}`);
  }
}

export class HttpClient {
  readonly agent: Agent;

  constructor(private readonly target: Target, readonly headers: Record<string, string> = {}, maxSockets = 256) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  withHeaders(headers: Record<string, string>): HttpClient {
    return new HttpClient(this.target, { ...this.headers, ...headers });
  }

  private open(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { ...this.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({ ...this.target, method, path, headers, agent: this.agent }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  }

  async request(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const res = await this.open(method, path, body);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const buffer = Buffer.concat(chunks);
    return {
      status: res.statusCode ?? 0,
      headers: res.headers,
      body: buffer,
      text: () => buffer.toString('utf8'),
      json: <T>() => JSON.parse(buffer.toString('utf8')) as T,
    };
  }

  /** A request that must answer `expected`; anything else throws with the answer's body. */
  async expect(method: string, path: string, expected: number | number[], body?: unknown): Promise<HttpAnswer> {
    const answer = await this.request(method, path, body);
    const ok = Array.isArray(expected) ? expected.includes(answer.status) : answer.status === expected;
    if (!ok) throw new HttpError(method, path, answer.status, answer.text());
    return answer;
  }

  /** A GET whose body the caller reads; a status of 300 or more throws with the body. */
  async stream(path: string): Promise<IncomingMessage> {
    const res = await this.open('GET', path);
    if ((res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw new HttpError('GET', path, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    return res;
  }

  /**
   * Reads a streamed answer to its end, counting bytes; `onChunk` may inspect each chunk (a demuxer
   * that counts payload bytes). Timing starts before the request is sent.
   */
  async drain(path: string, onChunk?: (chunk: Buffer) => void): Promise<Drained> {
    const started = performance.now();
    const res = await this.stream(path);
    let bytes = 0;
    let chunks = 0;
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        chunks++;
        if (onChunk) onChunk(chunk);
      });
      res.on('end', resolve);
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`GET ${path}: the response was cut off after ${bytes} bytes`)));
    });
    if (!res.complete) throw new Error(`GET ${path}: the response was cut off after ${bytes} bytes`);
    return { status: res.statusCode ?? 0, bytes, ms: performance.now() - started, chunks };
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Counts the payload bytes of the engine's multiplexed log stream (8-byte frame headers: stream
 * type, three zero bytes, big-endian length) without copying, as a raw client has to demux too.
 */
export function logPayloadCounter(): { onChunk: (chunk: Buffer) => void; payload: () => number } {
  let payload = 0;
  let remaining = 0;
  const header = Buffer.alloc(8);
  let headerFill = 0;
  return {
    onChunk(chunk: Buffer) {
      let offset = 0;
      while (offset < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - offset);
          payload += take;
          remaining -= take;
          offset += take;
          continue;
        }
        const take = Math.min(8 - headerFill, chunk.length - offset);
        chunk.copy(header, headerFill, offset, offset + take);
        headerFill += take;
        offset += take;
        if (headerFill === 8) {
          remaining = header.readUInt32BE(4);
          headerFill = 0;
        }
      }
    },
    payload: () => payload,
  };
}
