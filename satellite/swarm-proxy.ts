/**
 * The Swarm manager's API, through the satellite of a manager node (SATELLITE_SWARM_PROXY=on), so
 * that the API of a swarm deployment needs no Docker socket of its own. Only the calls the swarm
 * backend makes are forwarded (services, tasks, nodes, configs, networks, image inspection, info); every
 * other engine path is a 403. Requests are signed like every satellite request (the app verifies
 * them before this route runs); answers are the engine's own, streamed back unchanged.
 *
 *   ANY /swarm-api/<engine path>   e.g. GET /swarm-api/v1.41/services?filters=...
 */
import type { Express, Request, Response } from 'express';
import { PermissionDeniedError, ServiceUnavailableError } from '../common/errors';
import type { Logger } from '../common/logger';
import { SWARM_PROXY_PREFIX } from '../common/satellite-protocol';
import { relaySwarmAnswer, sendSwarmCall } from '../common/swarm-forward';

/** Where the local engine listens (dockerode's modem settings). */
export interface EngineEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

const ID = '[A-Za-z0-9_.-]{1,128}';
/** The engine calls the swarm backend makes; the optional `/v1.NN` version prefix is allowed. */
const ALLOWED: ReadonlyArray<[string, RegExp]> = [
  ['GET', /^\/_ping$/],
  ['HEAD', /^\/_ping$/],
  ['GET', /^\/info$/],
  ['GET', /^\/version$/],
  ['GET', /^\/services$/],
  ['POST', /^\/services\/create$/],
  ['GET', new RegExp(`^/services/${ID}$`)],
  ['DELETE', new RegExp(`^/services/${ID}$`)],
  ['POST', new RegExp(`^/services/${ID}/update$`)],
  ['GET', /^\/tasks$/],
  ['GET', new RegExp(`^/tasks/${ID}$`)],
  ['GET', /^\/nodes$/],
  ['GET', new RegExp(`^/nodes/${ID}$`)],
  ['GET', /^\/configs$/],
  ['POST', /^\/configs\/create$/],
  ['GET', new RegExp(`^/configs/${ID}$`)],
  ['DELETE', new RegExp(`^/configs/${ID}$`)],
  // Users' overlays (units/scheduler/swarm-networks.ts).
  ['GET', /^\/networks$/],
  ['POST', /^\/networks\/create$/],
  ['GET', new RegExp(`^/networks/${ID}$`)],
  ['DELETE', new RegExp(`^/networks/${ID}$`)],
  // Image references may contain `/` and `:` (repository/name:tag) or be `sha256:<id>`.
  ['GET', /^\/images\/[A-Za-z0-9_.:/@-]{1,300}\/json$/],
];

/** Whether the swarm proxy forwards this method and engine path (query excluded). */
export function swarmCallAllowed(method: string, enginePath: string): boolean {
  const path = enginePath.replace(/^\/v1\.\d{1,3}(?=\/)/, '');
  if (path.includes('..') || path.includes('//') || path.includes('%')) return false;
  return ALLOWED.some(([m, pattern]) => m === method && pattern.test(path));
}

function bodyBytes(req: Request): Buffer | null {
  if (Buffer.isBuffer(req.body)) return req.body.length ? req.body : null;
  // The app parsed a JSON body after checking its signature: the engine gets the same JSON.
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object') return Buffer.from(JSON.stringify(req.body));
  return null;
}

export function registerSwarmProxyRoutes(app: Express, deps: { engine: EngineEndpoint; logger: Logger }): void {
  app.all(`${SWARM_PROXY_PREFIX}/*enginePath`, async (req: Request, res: Response) => {
    const original = new URL(req.originalUrl, 'http://satellite.invalid');
    const enginePath = original.pathname.slice(SWARM_PROXY_PREFIX.length);
    if (!swarmCallAllowed(req.method, enginePath)) throw new PermissionDeniedError(`The swarm proxy does not forward ${req.method} ${enginePath}.`);
    const upstream = await sendSwarmCall({ target: { ...deps.engine, path: enginePath + original.search }, method: req.method, body: bodyBytes(req) }).catch((err: Error) => {
      throw new ServiceUnavailableError(`The engine does not answer: ${err.message}`);
    });
    try {
      await relaySwarmAnswer(upstream, res);
    } catch (err) {
      deps.logger.warn(`swarm proxy ${req.method} ${enginePath} failed mid-answer: ${(err as Error).message}`);
      res.destroy();
    }
  });
}
