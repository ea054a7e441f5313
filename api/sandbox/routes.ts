/**
 * The sandbox routes, as one route table per concern (see route-table.ts): the tables register
 * the Express routes and render each concern's help and examples. Routes stay thin: they read
 * and check HTTP input, call a service, and shape the answer.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { HttpError } from '../../common/errors';
import { isUpgrade } from '../../common/upgrade';
import { currentUser } from '../auth/authenticate';
import { relay } from '../http/relay';
import type { SandboxConfig } from '../config';
import type { ExecService } from './exec';
import type { LifecycleService } from './lifecycle';
import type { OperationService, OperationView } from './operations';
import { registerConcern, type Concern, type FieldDoc, type HealthReport, type RouteDef } from './route-table';
import { parseBatchRequest, parseExecRequest, parseForkRequest, parseSnapshotRequest, parseVolumeRequest, resumePoint, terminalQuery, timeoutQuery } from './requests';
import type { SnapshotService } from './snapshots';
import type { TerminalGateway } from './terminal';
import type { VolumeService } from './volumes';

export interface SandboxRouteDeps {
  exec: ExecService;
  lifecycle: LifecycleService;
  operations: OperationService;
  snapshots: SnapshotService;
  volumes: VolumeService;
  terminal: TerminalGateway;
  limits: SandboxConfig;
  health: (concern: string) => Promise<HealthReport>;
}

function accepted(res: Response, operation: OperationView): void {
  res.status(202).location(`/v1/operations/${operation.id}`).json({ operation });
}

const id = (req: Request): string => String(req.params.id);

/**
 * Browsers cannot set headers on a WebSocket or an EventSource: those two routes also take the
 * JWT as `?token=`. It is moved into the Authorization header (and out of the URL, so that it is
 * never logged) before the usual auth runs.
 */
export const queryToken: RequestHandler = (req, _res, next) => {
  const token = req.query.token;
  if (req.method === 'GET' && typeof token === 'string' && /^\/[0-9a-f]{32}\/(stream|terminal)\/?$/.test(req.path)) {
    if (!req.headers.authorization) req.headers.authorization = `JWT ${token}`;
    const scrub = (url: string): string => {
      const parsed = new URL(url, 'http://boatload.invalid');
      parsed.searchParams.delete('token');
      return parsed.pathname + parsed.search;
    };
    req.url = scrub(req.url);
    req.originalUrl = scrub(req.originalUrl);
  }
  next();
};

const CREATE_FIELDS: FieldDoc[] = [
  { name: 'image_name', type: 'string', description: 'Image (default boatload/base); it must be present on the host.' },
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
  { name: 'volumes', type: '[{name, path, readonly}]', description: 'Your named volumes (by name or id) mounted at absolute paths (at most 16).' },
];

const EXEC_FIELDS: FieldDoc[] = [
  { name: 'cmd', type: 'string[]', required: true, description: 'The command and its arguments (no shell: use ["/bin/sh","-c","..."] for one).' },
  { name: 'env', type: 'object', description: 'Extra environment variables.' },
  { name: 'workdir', type: 'string (absolute path)', description: 'Working directory.' },
  { name: 'user', type: 'string', description: 'user, uid, user:group or uid:gid.' },
  { name: 'timeout', type: 'number (seconds)', description: 'Kill the command after this long (default 60, at most BOATLOAD_EXEC_TIMEOUT_MAX_SECONDS).' },
];

const OPERATION_ANSWER = '202 {operation: {id, kind, status, target, created, updated}} with Location: /v1/operations/<id>';

function containerConcern(deps: SandboxRouteDeps, legacy: Router): Concern {
  const { exec, lifecycle, terminal, limits } = deps;
  const routes: RouteDef[] = [
    // The original /v1/container/ routes (registered by api/containers/routes.ts), described.
    { method: 'get', path: '/', summary: 'Your containers (admins: all).', answer: '200 [{id, image, owner, node, unit, created, status, exit_code, reason}]' },
    {
      method: 'post',
      path: '/',
      summary: 'Create a container. ?wait=ready answers once it is ready (running and exec-able), or with its status if it exited or failed first.',
      query: [
        { name: 'wait', type: '"ready"', description: 'Wait for readiness before answering.' },
        { name: 'timeout', type: 'number (seconds)', description: `How long to wait (default 30, at most ${limits.waitReadyMaxSeconds}).` },
      ],
      body: CREATE_FIELDS,
      answer: '201 the record; with ?wait=ready also readiness: {status: ready|starting|exited|error|..., reason, exit_code, checked, timed_out?}',
      example: { query: 'wait=ready&timeout=30', body: { container_args: ['sleep', '3600'] } },
    },
    { method: 'get', path: '/:id', summary: 'The record.', answer: '200 the record with the request fields' },
    { method: 'delete', path: '/:id', summary: 'Stop and remove the container.', answer: '204' },
    { method: 'get', path: '/:id/stdout', summary: 'Stored output as text/plain, streamed.', query: [{ name: 'stream', type: 'stdout|stderr|all', description: 'Which stream (default all).' }, { name: 'follow', type: 'boolean', description: 'Until exit.' }, { name: 'tail', type: 'number', description: 'Last N lines.' }], answer: '200 text/plain', example: { stream: true } },
    { method: 'get', path: '/:id/script', summary: 'The script as submitted.', answer: '200' },
    { method: 'get', path: '/:id/state', summary: 'Scheduler and engine state.', answer: '200 {fleet_state, docker_state, status, reason}' },
    { method: 'get', path: '/:id/metrics', summary: 'CPU, memory, network, pids.', answer: '200 {timestamp, cpu_percent, memory, network, pids, block_io}' },
    { method: 'get', path: '/:id/changes', summary: "The engine's filesystem diff.", answer: '200 [{Path, Kind}]' },
    { method: 'get', path: '/:id/file', summary: 'Changed regular files.', answer: '200 [{num, path, size}]' },
    { method: 'get', path: '/:id/file/*filepath', summary: 'One file, streamed.', answer: '200 application/octet-stream', example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/file/etc/hostname" -H "Authorization: JWT $TOKEN"' } },
    { method: 'get', path: '/:id/filebynum/:num', summary: 'Entry num of the file list.', answer: '200 application/octet-stream', example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/filebynum/0" -H "Authorization: JWT $TOKEN"' } },
    { method: 'get', path: '/:id/archive', summary: 'A tar of all changes (?gzip=true).', answer: '200 application/x-tar', example: { text: 'curl -s "$BOATLOAD/v1/container/$ID/archive" -H "Authorization: JWT $TOKEN" | tar tvf -' } },

    // Sandbox routes.
    {
      method: 'post',
      path: '/batch',
      summary: `Create up to ${limits.batchMaxRequests} containers as one operation; its result lists each container id or its error.`,
      body: [{ name: 'requests', type: 'object[]', required: true, description: 'Create requests (JSON fields as for POST /v1/container/).' }],
      answer: `${OPERATION_ANSWER}; result: {created, failed, containers: [{index, id} | {index, error: {status, body}}]}`,
      example: { body: { requests: [{ container_args: ['sleep', '60'] }, { container_args: ['echo', 'hi'] }] } },
      handlers: [
        (req, res) => {
          accepted(res, lifecycle.batchCreate(currentUser(req), parseBatchRequest(req.body, limits)));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/ready',
      summary: 'Readiness now (a running container is probed with a trivial exec); ?timeout=N waits up to N seconds for it to settle.',
      query: [{ name: 'timeout', type: 'number (seconds)', description: `Wait up to this long (at most ${limits.waitReadyMaxSeconds}).` }],
      answer: '200 the record with readiness: {status, reason, exit_code, checked, timed_out?}',
      handlers: [
        async (req, res) => {
          const user = currentUser(req);
          if (req.query.timeout === undefined) return void res.json(await exec.readiness(user, id(req)));
          res.json(await exec.waitReady(user, id(req), timeoutQuery(req, 30, limits.waitReadyMaxSeconds)));
        },
      ],
    },
    {
      method: 'post',
      path: '/:id/exec',
      summary: `Run a command to its end and answer its output (each stream capped at ${limits.execOutputMaxBytes} bytes). 409 if the container is not running.`,
      body: EXEC_FIELDS,
      answer: '200 {exit_code, stdout, stderr, duration_ms, truncated, timed_out}',
      example: { body: { cmd: ['/bin/sh', '-c', 'echo hello; uname -a'], timeout: 10 } },
      handlers: [
        async (req, res) => {
          const input = parseExecRequest(req.body, { timeoutMaxSeconds: limits.execTimeoutMaxSeconds });
          res.json(await exec.exec(currentUser(req), id(req), input));
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/stream',
      summary: 'Live output as Server-Sent Events: `stdout` and `stderr` events (data: one line), then one `exit` event (data: {"exit_code", "error", "finished_at"}). Each id is the event timestamp; resume with Last-Event-ID or ?since=.',
      query: [
        { name: 'since', type: 'RFC 3339 or unix seconds', description: 'Only output at or after this time.' },
        { name: 'token', type: 'JWT', description: 'For browsers (EventSource cannot set headers).' },
      ],
      answer: '200 text/event-stream',
      example: { stream: true },
      handlers: [
        async (req, res) => {
          const resume = resumePoint(req);
          const upstream = await exec.output(currentUser(req), id(req), resume);
          await relay(res, upstream, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
        },
      ],
    },
    {
      method: 'get',
      path: '/:id/terminal',
      summary:
        'Interactive PTY shell over a WebSocket. Send {"type":"stdin","data":"..."} (or binary frames) and {"type":"resize","cols":N,"rows":N}; receive {"type":"output","data":"..."}, then {"type":"exit","exit_code":N}. 409 if the container is not running.',
      query: [
        { name: 'cols', type: 'number', description: 'Initial width.' },
        { name: 'rows', type: 'number', description: 'Initial height.' },
        { name: 'cmd', type: 'string (repeatable)', description: 'Command instead of /bin/sh.' },
        { name: 'user', type: 'string', description: 'user or uid.' },
        { name: 'workdir', type: 'string', description: 'Working directory.' },
        { name: 'token', type: 'JWT', description: 'For browsers (WebSocket cannot set headers).' },
      ],
      answer: '101 Switching Protocols (WebSocket); 409 if not running; 426 without an upgrade',
      example: { text: 'node docs/terminal-client.js "$BOATLOAD" "$TOKEN" "$ID"   # the client in README "Terminal"' },
      handlers: [
        async (req) => {
          if (!isUpgrade(req)) throw new HttpError(426, { detail: 'Connect with a WebSocket (see GET /v1/container/help).' });
          terminal.checkOrigin(req);
          await terminal.connect({ user: currentUser(req), id: id(req), req, query: terminalQuery(req) });
        },
      ],
    },
    ...(['start', 'stop', 'restart'] as const).map(
      (action): RouteDef => ({
        method: 'post',
        path: `/:id/${action}`,
        summary: `${action[0]?.toUpperCase()}${action.slice(1)} the container, as an operation.`,
        answer: `${OPERATION_ANSWER}; result: {container}`,
        handlers: [
          (req, res) => {
            accepted(res, lifecycle[action](currentUser(req), id(req)));
          },
        ],
      }),
    ),
    {
      method: 'post',
      path: '/:id/snapshot',
      summary: "Commit the container's filesystem as a snapshot image (the container is paused for the commit, never stopped).",
      body: [{ name: 'name', type: 'string', description: 'A label for you.' }],
      answer: `${OPERATION_ANSWER}; result: {snapshot: {id, owner, name, container, image, size, node, created}}`,
      example: { body: { name: 'before-upgrade' } },
      handlers: [
        (req, res) => {
          accepted(res, lifecycle.snapshot(currentUser(req), id(req), parseSnapshotRequest(req.body).name));
        },
      ],
    },
    {
      method: 'post',
      path: '/:id/fork',
      summary: `Branch the container into writable copies, each started from one snapshot taken now (at most ${limits.forkMaxCount}); the original keeps running. Copies start the original's command afresh and mount no volumes.`,
      body: [{ name: 'count', type: 'number', description: 'How many copies (default 1).' }],
      answer: `${OPERATION_ANSWER}; result: {snapshot, containers: [ids]}`,
      example: { body: { count: 2 } },
      handlers: [
        (req, res) => {
          accepted(res, lifecycle.fork(currentUser(req), id(req), parseForkRequest(req.body, limits).count));
        },
      ],
    },
  ];
  return {
    name: 'container',
    base: '/v1/container',
    description: 'Containers: create, read output/state/files, exec, stream, terminal, lifecycle operations, snapshots and forks.',
    idVariable: 'ID',
    routes,
    health: () => deps.health('container'),
    external: legacy,
  };
}

function volumeConcern(deps: SandboxRouteDeps): Concern {
  const { volumes } = deps;
  return {
    name: 'volumes',
    base: '/v1/volumes',
    description: 'Named volumes: storage that outlives containers. Mount them at create with volumes: [{name, path, readonly}].',
    idVariable: 'VOLUME',
    health: () => deps.health('volumes'),
    routes: [
      {
        method: 'post',
        path: '/',
        summary: 'Create a volume (names are unique per owner).',
        body: [{ name: 'name', type: 'string', required: true, description: '1-64 letters, digits, dots, dashes or underscores.' }],
        answer: '201 {id, name, owner, engine_name, node, created, used_by}; 409 if you have one of that name',
        example: { body: { name: 'work' } },
        handlers: [
          async (req, res) => {
            res.status(201).json(await volumes.create(currentUser(req), parseVolumeRequest(req.body)));
          },
        ],
      },
      {
        method: 'get',
        path: '/',
        summary: 'Your volumes (admins: all).',
        answer: '200 [{id, name, owner, engine_name, node, created, used_by}]',
        handlers: [
          (req, res) => {
            res.json(volumes.list(currentUser(req)));
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One volume.',
        answer: '200 {id, name, owner, engine_name, node, created, used_by}',
        handlers: [
          (req, res) => {
            res.json(volumes.get(currentUser(req), id(req)));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:id',
        summary: 'Delete the volume and its files; 409 while a container uses it.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await volumes.delete(currentUser(req), id(req));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}

function snapshotConcern(deps: SandboxRouteDeps): Concern {
  const { snapshots } = deps;
  return {
    name: 'snapshots',
    base: '/v1/snapshots',
    description: 'Snapshots: containers\' filesystems saved as images (POST /v1/container/<id>/snapshot). Start a container from one with POST /v1/container/ {"snapshot": "<id>"}.',
    idVariable: 'SNAPSHOT',
    health: () => deps.health('snapshots'),
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Your snapshots (admins: all).',
        answer: '200 [{id, owner, name, container, image, size, node, created}]',
        handlers: [
          (req, res) => {
            res.json(snapshots.list(currentUser(req)));
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One snapshot.',
        answer: '200 {id, owner, name, container, image, size, node, created}',
        handlers: [
          (req, res) => {
            res.json(snapshots.get(currentUser(req), id(req)));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:id',
        summary: 'Delete the snapshot and its image; 409 while a container runs from it.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await snapshots.delete(currentUser(req), id(req));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}

function operationConcern(deps: SandboxRouteDeps): Concern {
  const { operations } = deps;
  return {
    name: 'operations',
    base: '/v1/operations',
    description: 'Operations: receipts of long actions (start, stop, restart, snapshot, fork, batch_create), kept in the store. status: pending → running → succeeded | failed (with error). An API restart fails the unfinished ones ("interrupted by an API restart").',
    idVariable: 'OPERATION',
    health: () => deps.health('operations'),
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Your operations, newest first (admins: all); at most 200.',
        answer: '200 {operations: [{id, kind, status, target, created, updated, result?, error?}]}',
        handlers: [
          (req, res) => {
            res.json({ operations: operations.list(currentUser(req)) });
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One operation.',
        answer: '200 {operation: {id, kind, status, target, created, updated, result?, error?}}',
        handlers: [
          (req, res) => {
            res.json({ operation: operations.get(currentUser(req), id(req)) });
          },
        ],
      },
    ],
  };
}

/** The fleet-compatible unit API lives at /fleet/v1 (admins only); described here, served there. */
function unitConcern(deps: SandboxRouteDeps): Concern {
  const name: FieldDoc = { name: 'name', type: 'string', description: 'Unit name, e.g. web.service or web@1.service.' };
  return {
    name: 'units',
    base: '/fleet/v1',
    mount: '/v1/units',
    description: "Units: systemd-style unit files scheduled on the cluster, through fleet's v1 HTTP API (fleetctl --endpoint works). Admins only; errors in fleet's shape {\"error\":{\"code\",\"message\"}}. Also at /v1-alpha.",
    idVariable: 'UNIT',
    health: () => deps.health('units'),
    routes: [
      { method: 'get', path: '/discovery', summary: "fleet's discovery document.", answer: '200' },
      { method: 'get', path: '/machines', summary: 'Machines with their metadata.', query: [{ name: 'nextPageToken', type: 'string', description: 'Paging.' }], answer: '200 {machines: [{id, primaryIP, metadata}], nextPageToken?}' },
      { method: 'patch', path: '/machines', summary: 'Edit machine metadata (JSON patch operations).', answer: '204' },
      { method: 'get', path: '/units', summary: 'All units.', answer: '200 {units: [...], nextPageToken?}' },
      { method: 'get', path: '/units/:name', summary: 'One unit.', query: [name], answer: '200 {name, options, desiredState, currentState, machineID}' },
      { method: 'put', path: '/units/:name', summary: 'Create a unit (options) or change its desiredState.', body: [{ name: 'desiredState', type: 'inactive|loaded|launched', description: 'What it should be.' }, { name: 'options', type: '[{section, name, value}]', description: 'The unit file, for a new unit.' }], answer: '201 created, 204 changed', example: { body: { desiredState: 'launched', options: [{ section: 'Service', name: 'ExecStart', value: '/usr/bin/docker run --rm boatload/base:latest sleep 60' }] } } },
      { method: 'delete', path: '/units/:name', summary: 'Destroy a unit.', answer: '204' },
      { method: 'get', path: '/state', summary: 'Unit states per machine.', query: [{ name: 'machineID', type: 'string', description: 'Filter.' }, { name: 'unitName', type: 'string', description: 'Filter.' }], answer: '200 {states: [...]}' },
      { method: 'get', path: '/state/:name', summary: "One unit's state.", answer: '200' },
    ],
  };
}

export interface SandboxRouters {
  /** Mounted on /v1/container before the original router (whose routes it also describes). */
  container: (legacy: Router) => Router;
  volumes: Router;
  snapshots: Router;
  operations: Router;
  units: Router;
}

export function sandboxRouters(deps: SandboxRouteDeps): SandboxRouters {
  const build = (concern: Concern): Router => {
    const router = Router();
    registerConcern(router, concern);
    return router;
  };
  return {
    container: (legacy) => build(containerConcern(deps, legacy)),
    volumes: build(volumeConcern(deps)),
    snapshots: build(snapshotConcern(deps)),
    operations: build(operationConcern(deps)),
    units: build(unitConcern(deps)),
  };
}

