/**
 * A small HTTP client for the fleet API over any of its listeners: the unix socket, the main
 * port (with a JWT) or client-certificate HTTPS. Answers are buffered and parsed when JSON.
 */
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';

export interface FleetResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  body: unknown;
}

export interface FleetRequest {
  method: string;
  /** Path and query, e.g. `/fleet/v1/units?alt=json`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type FleetTransport = (request: FleetRequest) => Promise<FleetResponse>;

function send(options: RequestOptions | HttpsRequestOptions, request: FleetRequest, secure: boolean): Promise<FleetResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
    const req = (secure ? httpsRequest : httpRequest)({ ...options, method: request.method, path: request.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Requests over a unix socket (fleetctl's `unix:///path`). */
export function socketTransport(socketPath: string): FleetTransport {
  return (request) => send({ socketPath, agent: false }, request, false);
}

/** Requests to host:port over plain HTTP, with extra headers (e.g. a JWT). */
export function tcpTransport(input: { port: number; headers?: Record<string, string> }): FleetTransport {
  return (request) => send({ host: '127.0.0.1', port: input.port, agent: false }, { ...request, headers: { ...input.headers, ...request.headers } }, false);
}

/** Requests over HTTPS with an optional client certificate. */
export function tlsTransport(input: { port: number; ca: Buffer; cert?: Buffer; key?: Buffer }): FleetTransport {
  return (request) =>
    send({ host: '127.0.0.1', port: input.port, agent: false, ca: input.ca, cert: input.cert, key: input.key, servername: 'localhost' }, request, true);
}
