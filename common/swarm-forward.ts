/**
 * The one hop of the swarm proxy chain, used at both ends: the API's manager proxy sends
 * dockerode's call to a satellite's /swarm-api, and the satellite sends it on to its engine. A JSON
 * body (if any) goes out with its length; the answer comes back with its status, content type and
 * bytes, streamed unchanged.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';

export interface SwarmCall {
  /** An http(s) URL, or node:http options with the path (a unix socket: socketPath). */
  target: URL | RequestOptions;
  method: string;
  headers?: Record<string, string>;
  /** A JSON body; null or empty: none. */
  body: Buffer | null;
  /** Give up when the upstream is silent this long (default: never). */
  timeoutMs?: number;
}

/** Sends the call; answers the upstream's response (its body not yet read). */
export function sendSwarmCall(call: SwarmCall): Promise<IncomingMessage> {
  const body = call.body?.length ? call.body : null;
  const headers: Record<string, string> = { ...call.headers };
  if (body) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(body.length);
  }
  const options: RequestOptions = { method: call.method, headers, timeout: call.timeoutMs };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const { target } = call;
    const outgoing =
      target instanceof URL ? (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, options, resolve) : httpRequest({ ...target, ...options }, resolve);
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${call.timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(body ?? undefined);
  });
}

/** The upstream's status and content type, then its bytes, to `res`. */
export async function relaySwarmAnswer(upstream: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  if (upstream.headers['content-type']) headers['Content-Type'] = upstream.headers['content-type'];
  res.writeHead(upstream.statusCode ?? 502, headers);
  await pipeline(upstream, res);
}
