/**
 * Drives a Swarm manager through its satellite instead of through a Docker socket: dockerode talks
 * to this in-process proxy on a private unix socket (a 0700 directory of its own), which signs
 * each call like every satellite request and forwards it to the satellite's /swarm-api (see
 * satellite/swarm-proxy.ts, which forwards only the calls the swarm backend makes). The API then
 * holds no socket that is root on a host.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../common/logger';
import { SWARM_PROXY_PREFIX } from '../../common/satellite-protocol';
import { signRequest } from '../../common/signing';
import { relaySwarmAnswer, sendSwarmCall } from '../../common/swarm-forward';

export interface SwarmManagerProxyOptions {
  /** The manager's satellite, e.g. http://10.0.0.1:8001. */
  url: string;
  secret: string;
  timeoutMs: number;
  /** Largest request body forwarded (service specs and script configs). */
  maxBodyBytes: number;
  logger: Logger;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export class SwarmManagerProxy {
  private readonly dir = mkdtempSync(join(tmpdir(), 'boatload-swarm-'));
  /** dockerode's socketPath. */
  readonly socketPath = join(this.dir, 'manager.sock');
  private readonly server: Server;

  constructor(private readonly options: SwarmManagerProxyOptions) {
    this.server = createServer((req, res) => {
      this.forward(req, res).catch((err: Error) => this.fail(res, 502, `the manager's satellite at ${options.url}: ${err.message}`));
    });
    // Listening completes in the background; the backend's first call waits for the manager anyway.
    this.server.listen(this.socketPath);
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message }));
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === null) return this.fail(res, 413, `request body over ${this.options.maxBodyBytes} bytes`);
    const method = req.method ?? 'GET';
    const path = SWARM_PROXY_PREFIX + (req.url ?? '/');
    const upstream = await sendSwarmCall({
      target: new URL(path, this.options.url),
      method,
      headers: signRequest(this.options.secret, { method, path, body }),
      body,
      timeoutMs: this.options.timeoutMs,
    });
    if (upstream.statusCode === 401) this.options.logger.warn(`the manager's satellite at ${this.options.url} refused the API's signature; check SATELLITE_SECRET`);
    await relaySwarmAnswer(upstream, res);
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
