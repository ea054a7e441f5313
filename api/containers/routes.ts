/**
 * /v1/container/ routes: read and check HTTP input, call ContainerService, shape the answer.
 * A trailing slash is optional everywhere (Express's non-strict routing).
 */
import { Router, type Request } from 'express';
import multer from 'multer';
import { posix } from 'node:path';
import { UnsupportedMediaTypeError, ValidationError } from '../../common/errors';
import { currentUser } from '../auth/authenticate';
import type { User } from '../store/users';
import { relay } from '../http/relay';
import { fromMultipartFields, parseCreateRequest, type CreateRequestLimits } from './create-request';
import type { ContainerService } from './service';
import type { ContainerView } from './view';

/** Something to wait for after a create (`?wait=ready`); a bad query is a 400 before creating. */
export interface CreateWaiter {
  parse(req: Request): ((user: User, created: ContainerView) => Promise<unknown>) | null;
}

const MAX_TAIL = 10_000_000;
const MAX_FILE_NUMBER = 1_000_000_000;

function logQuery(req: Request): { stdout: boolean; stderr: boolean; follow: boolean; tail?: number } {
  const stream = req.query.stream ?? 'all';
  if (stream !== 'stdout' && stream !== 'stderr' && stream !== 'all') throw ValidationError.field('stream', 'Must be stdout, stderr or all.');
  const follow = req.query.follow ?? 'false';
  if (follow !== 'true' && follow !== 'false' && follow !== '1' && follow !== '0') throw ValidationError.field('follow', 'Must be true or false.');
  let tail: number | undefined;
  if (req.query.tail !== undefined) {
    if (typeof req.query.tail !== 'string' || !/^\d{1,8}$/.test(req.query.tail) || Number(req.query.tail) > MAX_TAIL) {
      throw ValidationError.field('tail', `Must be a whole number from 0 to ${MAX_TAIL}.`);
    }
    tail = Number(req.query.tail);
  }
  return { stdout: stream !== 'stderr', stderr: stream !== 'stdout', follow: follow === 'true' || follow === '1', tail };
}

/** `/file/<filepath>`: an absolute path inside the container; `..` is refused outright. */
function containerPath(segments: unknown): string {
  const parts = (Array.isArray(segments) ? segments : [segments]).map(String).join('/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw ValidationError.field('filepath', 'Must not contain "..".');
  if (parts.some((p) => p.includes('\0'))) throw ValidationError.field('filepath', 'Must not contain NUL characters.');
  if (!parts.length) throw ValidationError.field('filepath', 'A file path is required.');
  return '/' + parts.join('/');
}

function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function containerRoutes(input: { service: ContainerService; limits: CreateRequestLimits; wait?: CreateWaiter }): Router {
  const { service, limits } = input;
  const router = Router();
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.scriptMaxBytes, files: 1, fields: 32, fieldSize: 256 * 1024, parts: 40 },
  }).single('script');

  router.get('/', (req, res) => {
    res.type('application/json').send(service.listJson(currentUser(req)));
  });

  router.post('/', (req, res, next) => (req.is('multipart/form-data') ? upload(req, res, next) : next()), async (req, res) => {
    let body: unknown = req.body;
    if (req.is('multipart/form-data') || req.is('application/x-www-form-urlencoded')) {
      body = fromMultipartFields((req.body ?? {}) as Record<string, unknown>);
    } else if (!req.is('application/json')) {
      throw new UnsupportedMediaTypeError('Send JSON (application/json) or multipart/form-data.');
    }
    const waitFor = input.wait?.parse(req) ?? null;
    const parsed = parseCreateRequest(body, req.file?.buffer ?? null, limits);
    const created = await service.create(currentUser(req), parsed);
    res.status(201).json(waitFor ? await waitFor(currentUser(req), created) : created);
  });

  router.get('/:id', (req, res) => {
    res.json(service.get(currentUser(req), req.params.id));
  });

  router.delete('/:id', async (req, res) => {
    await service.delete(currentUser(req), req.params.id);
    res.status(204).end();
  });

  router.get('/:id/stdout', async (req, res) => {
    const query = logQuery(req);
    const upstream = await service.logs(currentUser(req), req.params.id, query);
    await relay(res, upstream, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  });

  router.get('/:id/script', (req, res) => {
    const script = service.script(currentUser(req), req.params.id);
    const isText = script[0] === 0x23 && script[1] === 0x21;
    res.type(isText ? 'text/plain; charset=utf-8' : 'application/octet-stream').set('X-Content-Type-Options', 'nosniff').send(script);
  });

  router.get('/:id/state', async (req, res) => {
    res.json(await service.state(currentUser(req), req.params.id));
  });

  router.get('/:id/metrics', async (req, res) => {
    res.json(await service.metrics(currentUser(req), req.params.id));
  });

  router.get('/:id/changes', async (req, res) => {
    res.json(await service.changes(currentUser(req), req.params.id));
  });

  router.get('/:id/file', async (req, res) => {
    res.json(await service.files(currentUser(req), req.params.id));
  });

  router.get('/:id/file/*filepath', async (req, res) => {
    const path = containerPath((req.params as Record<string, unknown>).filepath);
    const upstream = await service.file(currentUser(req), req.params.id, path);
    await relay(res, upstream, fileHeaders(path, upstream.headers['content-length']));
  });

  router.get('/:id/filebynum/:num', async (req, res) => {
    const num = req.params.num;
    if (!/^\d{1,10}$/.test(num) || Number(num) > MAX_FILE_NUMBER) throw ValidationError.field('filenum', 'Must be a whole number (0-based).');
    const upstream = await service.fileByNumber(currentUser(req), req.params.id, Number(num));
    const path = safeDecodeUri(upstream.headers['x-boatload-path']) ?? `file-${num}`;
    await relay(res, upstream, fileHeaders(path, upstream.headers['content-length']));
  });

  router.get('/:id/archive', async (req, res) => {
    const gzip = req.query.gzip === 'true' || req.query.gzip === '1';
    if (req.query.gzip !== undefined && !gzip && req.query.gzip !== 'false' && req.query.gzip !== '0') {
      throw ValidationError.field('gzip', 'Must be true or false.');
    }
    const upstream = await service.archive(currentUser(req), req.params.id, gzip);
    await relay(res, upstream, {
      'Content-Type': gzip ? 'application/gzip' : 'application/x-tar',
      'Content-Disposition': attachment(`${req.params.id}.tar${gzip ? '.gz' : ''}`),
    });
  });

  return router;
}

function safeDecodeUri(value: string | undefined): string | undefined {
  try {
    return value === undefined ? undefined : decodeURI(value);
  } catch {
    return undefined;
  }
}

function fileHeaders(path: string, length: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': attachment(posix.basename(path)),
    'X-Content-Type-Options': 'nosniff',
  };
  if (length) headers['Content-Length'] = length;
  return headers;
}
