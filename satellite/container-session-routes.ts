/**
 * The satellite's routes for work inside a container (signed like every satellite route; see
 * satellite/app.ts):
 *
 *   POST   /containers/:name/exec       ExecRequest → ExecResult
 *   POST   /containers/:name/result     RunResultRequest → RunResult (waits for the exit)
 *   GET    /containers/:name/ready      {ready, reason}: whether a trivial exec succeeds
 *   GET    /containers/:name/output     text/event-stream; ?since=<seconds.nanos>&exclusive=1
 *   GET    /containers/:name/terminal   WebSocket upgrade; ?cmd=...&cols=&rows=&user=&workdir=
 */
import type { Express } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import { BadRequestError, HttpError, ValidationError } from '../common/errors';
import type { Logger } from '../common/logger';
import { CONTAINER_NAME, type ExecRequest, type RunResultRequest } from '../common/satellite-protocol';
import { unixSecondsToNanos } from '../common/timestamps';
import { acceptWebSocket, isUpgrade } from '../common/upgrade';
import type { ContainerSessions } from './container-sessions';
import { objectBody, param } from './route-input';

function smallInt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value)) throw ValidationError.field(field, 'A whole number is required.');
  return Number(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function registerContainerSessionRoutes(app: Express, deps: { sessions: ContainerSessions; logger: Logger }): void {
  const { sessions, logger } = deps;
  const terminals = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  app.post('/containers/:name/exec', async (req, res) => {
    const body = objectBody<ExecRequest>(req);
    if (!Number.isInteger(body.timeoutMs) || body.timeoutMs < 1 || !Number.isInteger(body.maxOutputBytes) || body.maxOutputBytes < 0) {
      throw new BadRequestError('timeoutMs and maxOutputBytes are required.');
    }
    res.json(await sessions.exec(param(req, 'name', CONTAINER_NAME), body));
  });

  app.post('/containers/:name/result', async (req, res) => {
    const body = objectBody<RunResultRequest>(req);
    if (!Number.isInteger(body.timeoutMs) || body.timeoutMs < 1 || !Number.isInteger(body.maxOutputBytes) || body.maxOutputBytes < 0) {
      throw new BadRequestError('timeoutMs and maxOutputBytes are required.');
    }
    res.json(await sessions.result(param(req, 'name', CONTAINER_NAME), body));
  });

  app.get('/containers/:name/ready', async (req, res) => {
    res.json(await sessions.probe(param(req, 'name', CONTAINER_NAME)));
  });

  app.get('/containers/:name/output', async (req, res) => {
    const name = param(req, 'name', CONTAINER_NAME);
    let since: bigint | null = null;
    if (req.query.since !== undefined) {
      since = typeof req.query.since === 'string' ? unixSecondsToNanos(req.query.since) : null;
      if (since === null) throw ValidationError.field('since', 'Seconds since the epoch (with up to 9 decimals) are required.');
    }
    const abort = new AbortController();
    const events = sessions.outputEvents(name, { since, exclusive: req.query.exclusive === '1', signal: abort.signal });
    // The first item (a comment) comes only once the container is known: errors stay HTTP errors.
    const first = await events.next();
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.on('close', () => abort.abort());
    const rest = async function* (): AsyncGenerator<string> {
      if (!first.done) yield first.value;
      yield* events;
    };
    try {
      await pipeline(Readable.from(rest()), res);
    } catch (err) {
      if (!abort.signal.aborted) logger.warn(`output of ${name} failed mid-stream: ${(err as Error).message}`);
      res.destroy();
    }
  });

  app.get('/containers/:name/terminal', async (req) => {
    const name = param(req, 'name', CONTAINER_NAME);
    if (!isUpgrade(req)) throw new HttpError(426, { detail: 'Connect with a WebSocket.' });
    const cmd = ([] as unknown[]).concat(req.query.cmd ?? []).map(String);
    const size = { cols: smallInt(req.query.cols, 'cols'), rows: smallInt(req.query.rows, 'rows') };
    const prepared = await sessions.prepareTerminal(name, {
      cmd: cmd.length ? cmd : ['/bin/sh'],
      user: optionalString(req.query.user),
      workdir: optionalString(req.query.workdir),
      ...size,
    });
    const ws = await acceptWebSocket(terminals, req);
    if (!ws) return;
    await sessions.runTerminal(name, ws, prepared, size).catch((err: Error) => {
      logger.warn(`terminal in ${name} failed: ${err.message}`);
      ws.terminate();
    });
  });
}
