/**
 * /v1/container/: the container resource as one route table (see http/route-table.ts): create,
 * list, read output, state, metrics and files, delete, and the actions of action-routes.ts. Routes
 * read and check HTTP input, call a service, and shape the answer. A trailing slash is optional
 * everywhere (Express's non-strict routing).
 */
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { posix } from 'node:path';
import { z } from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../../common/errors';
import { currentUser } from '../auth/authenticate';
import type { User } from '../store/users';
import { parseQueryWith } from '../http/parse-body';
import { relay } from '../http/relay';
import type { FieldDoc, RouteDef, RouteGroup } from '../http/route-table';
import { containerActionRoutes, type ContainerActionDeps } from './action-routes';
import { createRequestSchema, fromMultipartFields, parseCreateRequest, type CreateRequestLimits } from './create-request';
import type { ContainerService } from './service';
import { changesSchema, containerMetricsSchema, containerSchema, containerStateSchema, containerSummarySchema, filesSchema, ok } from './response-schemas';
import type { ContainerView } from './view';

/** Something to wait for after a create (`?wait=ready`); a bad query is a 400 before creating. */
export interface CreateWaiter {
  parse(req: Request): ((user: User, created: ContainerView) => Promise<unknown>) | null;
}

const MAX_TAIL = 10_000_000;
const MAX_FILE_NUMBER = 1_000_000_000;

const TAIL = `Must be a whole number from 0 to ${MAX_TAIL}.`;

/** The query of GET /:id/stdout; the route describes its query with this same object. */
export const logQuerySchema = z.object({
  stream: z.enum(['stdout', 'stderr', 'all'], { errorMap: () => ({ message: 'Must be stdout, stderr or all.' }) }).optional().describe('Which stream (default all).'),
  follow: z.enum(['true', 'false', '1', '0'], { errorMap: () => ({ message: 'Must be true or false.' }) }).optional().describe('Until exit (default false).'),
  tail: z.string({ invalid_type_error: TAIL }).regex(/^\d{1,8}$/, TAIL).refine((t) => Number(t) <= MAX_TAIL, TAIL).optional().describe('Last N lines.'),
});

function logQuery(req: Request): { stdout: boolean; stderr: boolean; follow: boolean; tail?: number } {
  const query = parseQueryWith(logQuerySchema, req.query);
  const stream = query.stream ?? 'all';
  return { stdout: stream !== 'stderr', stderr: stream !== 'stdout', follow: query.follow === 'true' || query.follow === '1', tail: query.tail === undefined ? undefined : Number(query.tail) };
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

export interface ContainerRouteDeps extends ContainerActionDeps {
  service: ContainerService;
  createLimits: CreateRequestLimits;
  /** `?wait=ready` on create. */
  wait?: CreateWaiter;
}

const CREATE_FIELDS: FieldDoc[] = [
  { name: 'image_name', type: 'string', description: 'Image (default boatload/base); it must be present on the host. Snapshot images (boatload/snapshot, image IDs) are a 404 here: use snapshot.' },
  { name: 'image_tag', type: 'string', description: 'Tag (default latest).' },
  { name: 'snapshot', type: 'string (snapshot id)', description: 'Start from one of your snapshots instead of image_name/image_tag.' },
  { name: 'script', type: 'string (base64)', description: 'The script to run (#! line or executable); or a multipart file field.' },
  { name: 'scriptname', type: 'string', description: 'File name under /boatload/ (default script).' },
  { name: 'scripturl', type: 'string (URL)', description: 'Fetch the script from this http(s) URL.' },
  { name: 'dataurl', type: 'string (URL)', description: 'Data fetched and unpacked at datapath.' },
  { name: 'datapath', type: 'string (absolute path)', description: 'Where dataurl lands.' },
  { name: 'container_args', type: 'string | string[]', description: 'Arguments (split like a shell, never run by one).' },
  { name: 'env', type: 'object', description: '{"NAME": "value"}' },
  { name: 'permanent', type: 'boolean', description: 'true: restarted always; false (default): runs once.' },
  {
    name: 'ttl',
    type: 'number (seconds)',
    description:
      "Lifetime from creation: then the container is stopped and removed (expires_at in every read). Default: the installation's one-shot lifetime for permanent=false, none for permanent=true; 0: none. At most the administrator's maximum.",
  },
  { name: 'volumes', type: '[{name, path, readonly}]', description: 'Your named volumes (by name or id) mounted at absolute paths (at most 16).' },
  { name: 'hostname', type: 'string (DNS label)', description: "The container's hostname, unique among your containers (409 otherwise); your other containers reach it by this name." },
  { name: 'network', type: '"none" | "private" | "internet"', description: "What it may reach beyond your containers: internet (default: the installation's), private (only your containers), none (nothing). Never the host, metadata, other users or private ranges." },
  {
    name: 'ports',
    type: '(string | {port, protocol, host_port})[]',
    description: 'Container ports to publish: ["8080", "53/udp"] or [{"port": 8080, "protocol": "tcp"}]. The engine chooses the host port; a fixed host_port only inside the administrator\'s range (BOATLOAD_HOST_PORTS).',
  },
  { name: 'links', type: 'object', description: '{"db": "<container id>"}: docker-link variables (DB_PORT_5432_TCP_ADDR...) and the host name db. Env values may say #<id>.ip, #<id>.port, #<id>.port.<n> (## for #).' },
];

/** The container resource: its own routes, then its actions. */
export function containerGroup(deps: ContainerRouteDeps): RouteGroup {
  return {
    name: 'container',
    base: '/v1/container',
    description: 'Containers: create, read output/state/files, exec, stream, terminal, lifecycle operations, snapshots and forks.',
    idVariable: 'ID',
    routes: [...containerRoutes(deps), ...containerActionRoutes(deps)],
  };
}

function containerRoutes(deps: ContainerRouteDeps): RouteDef[] {
  const { service, createLimits: limits } = deps;
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.scriptMaxBytes, files: 1, fields: 32, fieldSize: 256 * 1024, parts: 40 },
  }).single('script');
  const multipart: RequestHandler = (req, res, next) => (req.is('multipart/form-data') ? upload(req, res, next) : next());
  const id = (req: Request): string => String(req.params.id);

  return [
    {
      method: 'get',
      path: '/',
      summary: 'Your containers (admins: all).',
      answer: '200 [{id, image, owner, node, unit, created, status, exit_code, reason, expires_at, hostname, network, ports}]',
      responses: ok('Your containers (admins: everyone\'s).', z.array(containerSummarySchema)),
      handlers: [
        async (req, res) => {
          res.type('application/json').send(await service.listJson(currentUser(req)));
        },
      ],
    },
    {
      method: 'post',
      path: '/',
      summary: 'Create a container. ?wait=ready answers once it is ready (running and exec-able), or with its status if it exited or failed first.',
      query: [
        { name: 'wait', type: '"ready"', description: 'Wait for readiness before answering.' },
        { name: 'timeout', type: 'number (seconds)', description: `How long to wait (default 30, at most ${deps.limits.waitReadyMaxSeconds}).` },
      ],
      body: CREATE_FIELDS,
      bodySchema: createRequestSchema,
      bodyTypes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
      bodyFiles: ['script'],
      answer: '201 the record; with ?wait=ready also readiness: {status: ready|starting|exited|error|..., reason, exit_code, checked, timed_out?}',
      example: { query: 'wait=ready&timeout=30', body: { container_args: ['sleep', '3600'] } },
      handlers: [
        multipart,
        async (req, res) => {
          let body: unknown = req.body;
          if (req.is('multipart/form-data') || req.is('application/x-www-form-urlencoded')) {
            body = fromMultipartFields((req.body ?? {}) as Record<string, unknown>);
          } else if (!req.is('application/json')) {
            throw new UnsupportedMediaTypeError('Send JSON (application/json) or multipart/form-data.');
          }
          const waitFor = deps.wait?.parse(req) ?? null;
          const parsed = parseCreateRequest(body, req.file?.buffer ?? null, limits);
          const created = await service.create(currentUser(req), parsed);
          res.status(201).json(waitFor ? await waitFor(currentUser(req), created) : created);
        },
      ],
    },
    {
      method: 'get',
      path: '/:id',
      summary: 'The record.',
      answer: '200 the record with the request fields',
      responses: ok('The record.', containerSchema),
      handlers: [
        async (req, res) => {
          res.json(await service.get(currentUser(req), id(req)));
        },
      ],
    },
    {
      method: 'delete',
      path: '/:id',
      summary: 'Stop and remove the container.',
      answer: '204',
      handlers: [
        async (req, res) => {
          await service.delete(currentUser(req), id(req));
          res.status(204).end();
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/stdout',
      summary: 'Stored output as text/plain, streamed.',
      query: [
        { name: 'stream', type: 'stdout|stderr|all', description: 'Which stream (default all).' },
        { name: 'follow', type: 'boolean', description: 'Until exit.' },
        { name: 'tail', type: 'number', description: 'Last N lines.' },
      ],
      querySchema: logQuerySchema,
      answer: '200 text/plain',
      example: { stream: true },
      handlers: [
        async (req, res) => {
          const query = logQuery(req);
          const upstream = await service.logs(currentUser(req), id(req), query);
          await relay(res, upstream, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/script',
      summary: 'The script as submitted.',
      answer: '200',
      handlers: [
        async (req, res) => {
          const script = await service.script(currentUser(req), id(req));
          const isText = script[0] === 0x23 && script[1] === 0x21;
          res.type(isText ? 'text/plain; charset=utf-8' : 'application/octet-stream').set('X-Content-Type-Options', 'nosniff').send(script);
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/state',
      summary: 'Scheduler and engine state.',
      answer: '200 {fleet_state, docker_state, status, reason, node, expires_at, hostname, network, ports}',
      responses: ok('Scheduler and engine state.', containerStateSchema),
      handlers: [
        async (req, res) => {
          res.json(await service.state(currentUser(req), id(req)));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/metrics',
      summary: 'CPU, memory, network, pids.',
      answer: '200 {timestamp, cpu_percent, memory, network, pids, block_io}',
      responses: ok('One sample.', containerMetricsSchema),
      handlers: [
        async (req, res) => {
          res.json(await service.metrics(currentUser(req), id(req)));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/changes',
      summary: "The engine's filesystem diff.",
      answer: '200 [{Path, Kind}]',
      responses: ok("The engine's diff.", changesSchema),
      handlers: [
        async (req, res) => {
          res.json(await service.changes(currentUser(req), id(req)));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/file',
      summary: 'Changed regular files.',
      answer: '200 [{num, path, size}]',
      responses: ok('The changed regular files.', filesSchema),
      handlers: [
        async (req, res) => {
          res.json(await service.files(currentUser(req), id(req)));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/file/*filepath',
      summary: 'One file, streamed.',
      answer: '200 application/octet-stream',
      example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/file/etc/hostname" -H "Authorization: JWT $TOKEN"' },
      handlers: [
        async (req, res) => {
          const path = containerPath((req.params as Record<string, unknown>).filepath);
          const upstream = await service.file(currentUser(req), id(req), path);
          await relay(res, upstream, fileHeaders(path, upstream.headers['content-length']));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/filebynum/:num',
      summary: 'Entry num of the file list.',
      answer: '200 application/octet-stream',
      example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/filebynum/0" -H "Authorization: JWT $TOKEN"' },
      handlers: [
        async (req, res) => {
          const num = String(req.params.num);
          if (!/^\d{1,10}$/.test(num) || Number(num) > MAX_FILE_NUMBER) throw ValidationError.field('filenum', 'Must be a whole number (0-based).');
          const upstream = await service.fileByNumber(currentUser(req), id(req), Number(num));
          const path = safeDecodeUri(upstream.headers['x-boatload-path']) ?? `file-${num}`;
          await relay(res, upstream, fileHeaders(path, upstream.headers['content-length']));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/archive',
      summary: 'A tar of all changes (?gzip=true).',
      answer: '200 application/x-tar',
      example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/archive" -H "Authorization: JWT $TOKEN" | tar tvf -' },
      handlers: [
        async (req, res) => {
          const gzip = req.query.gzip === 'true' || req.query.gzip === '1';
          if (req.query.gzip !== undefined && !gzip && req.query.gzip !== 'false' && req.query.gzip !== '0') {
            throw ValidationError.field('gzip', 'Must be true or false.');
          }
          const upstream = await service.archive(currentUser(req), id(req), gzip);
          await relay(res, upstream, {
            'Content-Type': gzip ? 'application/gzip' : 'application/x-tar',
            'Content-Disposition': attachment(`${id(req)}.tar${gzip ? '.gz' : ''}`),
          });
        },
      ],
    },
  ];
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
