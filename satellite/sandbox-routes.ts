/**
 * The satellite's sandbox routes (signed like every satellite route; see satellite/app.ts):
 *
 *   POST   /containers/:name/exec       ExecRequest → ExecResult
 *   GET    /containers/:name/ready      {ready, reason}: whether a trivial exec succeeds
 *   GET    /containers/:name/output     text/event-stream; ?since=<seconds.nanos>&exclusive=1
 *   GET    /containers/:name/terminal   WebSocket upgrade; ?cmd=...&cols=&rows=&user=&workdir=
 *   POST   /containers/:name/commit     CommitRequest → CommitResult
 *   DELETE /images/:reference           removes a snapshot image (409 while in use)
 *   POST   /volumes                     VolumeCreateRequest → VolumeInfo
 *   GET    /volumes/:name               VolumeInfo
 *   DELETE /volumes/:name               (409 while in use)
 */
import type { Express, Request } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import { BadRequestError, HttpError, ValidationError } from '../common/errors';
import type { Logger } from '../common/logger';
import { CONTAINER_NAME, type CommitRequest, type ExecRequest, type VolumeCreateRequest } from '../common/satellite-protocol';
import { unixSecondsToNanos } from '../common/timestamps';
import { acceptWebSocket, isUpgrade } from '../common/upgrade';
import type { SandboxEngine } from './sandbox';

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

function param(req: Request, key: string, pattern: RegExp): string {
  const value = String(req.params[key]);
  if (!pattern.test(value)) throw new BadRequestError(`Invalid ${key}.`);
  return value;
}

function objectBody<T>(req: Request): T {
  if (!req.body || typeof req.body !== 'object' || Buffer.isBuffer(req.body)) throw new BadRequestError('A JSON body is required.');
  return req.body as T;
}

function smallInt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value)) throw ValidationError.field(field, 'A whole number is required.');
  return Number(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function registerSandboxRoutes(app: Express, deps: { sandbox: SandboxEngine; logger: Logger }): void {
  const { sandbox, logger } = deps;
  const terminals = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  app.post('/containers/:name/exec', async (req, res) => {
    const body = objectBody<ExecRequest>(req);
    if (!Number.isInteger(body.timeoutMs) || body.timeoutMs < 1 || !Number.isInteger(body.maxOutputBytes) || body.maxOutputBytes < 0) {
      throw new BadRequestError('timeoutMs and maxOutputBytes are required.');
    }
    res.json(await sandbox.exec(param(req, 'name', CONTAINER_NAME), body));
  });

  app.get('/containers/:name/ready', async (req, res) => {
    res.json(await sandbox.probe(param(req, 'name', CONTAINER_NAME)));
  });

  app.get('/containers/:name/output', async (req, res) => {
    const name = param(req, 'name', CONTAINER_NAME);
    let since: bigint | null = null;
    if (req.query.since !== undefined) {
      since = typeof req.query.since === 'string' ? unixSecondsToNanos(req.query.since) : null;
      if (since === null) throw ValidationError.field('since', 'Seconds since the epoch (with up to 9 decimals) are required.');
    }
    const abort = new AbortController();
    const events = sandbox.outputEvents(name, { since, exclusive: req.query.exclusive === '1', signal: abort.signal });
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
    const prepared = await sandbox.prepareTerminal(name, {
      cmd: cmd.length ? cmd : ['/bin/sh'],
      user: optionalString(req.query.user),
      workdir: optionalString(req.query.workdir),
      ...size,
    });
    const ws = await acceptWebSocket(terminals, req);
    if (!ws) return;
    await sandbox.runTerminal(name, ws, prepared, size).catch((err: Error) => {
      logger.warn(`terminal in ${name} failed: ${err.message}`);
      ws.terminate();
    });
  });

  app.post('/containers/:name/commit', async (req, res) => {
    const body = objectBody<CommitRequest>(req);
    if (typeof body.repo !== 'string' || typeof body.tag !== 'string' || !body.labels || typeof body.labels !== 'object') {
      throw new BadRequestError('repo, tag and labels are required.');
    }
    res.status(201).json(await sandbox.commit(param(req, 'name', CONTAINER_NAME), body));
  });

  app.delete('/images/:reference', async (req, res) => {
    await sandbox.removeImage(param(req, 'reference', IMAGE_REFERENCE));
    res.status(204).end();
  });

  app.post('/volumes', async (req, res) => {
    const body = objectBody<VolumeCreateRequest>(req);
    if (typeof body.name !== 'string' || !VOLUME_NAME.test(body.name) || !body.labels || typeof body.labels !== 'object') {
      throw new BadRequestError('A volume name and labels are required.');
    }
    res.status(201).json(await sandbox.createVolume(body));
  });

  app.get('/volumes/:name', async (req, res) => {
    res.json(await sandbox.inspectVolume(param(req, 'name', VOLUME_NAME)));
  });

  app.delete('/volumes/:name', async (req, res) => {
    await sandbox.removeVolume(param(req, 'name', VOLUME_NAME));
    res.status(204).end();
  });
}
