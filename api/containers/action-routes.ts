/**
 * The container actions under /v1/container/<id>/...: readiness, exec, live output, terminals,
 * start/stop/restart, snapshot and fork as operations, and batch create. Thin: they read and check
 * HTTP input, call a service, and shape the answer.
 */
import type { Request, Response } from 'express';
import { HttpError } from '../../common/errors';
import { isUpgrade } from '../../common/upgrade';
import { currentUser } from '../auth/authenticate';
import type { ContainerActionLimits } from '../config';
import { relay } from '../http/relay';
import type { FieldDoc, RouteDef } from '../http/route-table';
import type { OperationView } from '../operations/service';
import { batchRequestSchema, execRequestSchema, forkRequestSchema, parseBatchRequest, parseExecRequest, parseForkRequest, parseSnapshotRequest, resumePoint, snapshotRequestSchema, terminalQuery, timeoutQuery } from './action-requests';
import type { ExecService } from './exec';
import { execResultSchema, ok, operationAnswerSchema } from './response-schemas';
import type { LifecycleService } from './lifecycle';
import type { TerminalGateway } from './terminal';

export interface ContainerActionDeps {
  exec: ExecService;
  lifecycle: LifecycleService;
  terminal: TerminalGateway;
  limits: ContainerActionLimits;
}

function accepted(res: Response, operation: OperationView): void {
  res.status(202).location(`/v1/operations/${operation.id}`).json({ operation });
}

const id = (req: Request): string => String(req.params.id);

const EXEC_FIELDS: FieldDoc[] = [
  { name: 'cmd', type: 'string[]', required: true, description: 'The command and its arguments (no shell: use ["/bin/sh","-c","..."] for one).' },
  { name: 'env', type: 'object', description: 'Extra environment variables.' },
  { name: 'workdir', type: 'string (absolute path)', description: 'Working directory.' },
  { name: 'user', type: 'string', description: 'user, uid, user:group or uid:gid.' },
  { name: 'timeout', type: 'number (seconds)', description: 'Kill the command after this long (default 60, at most BOATLOAD_EXEC_TIMEOUT_MAX_SECONDS).' },
];

export const OPERATION_ANSWER = '202 {operation: {id, kind, status, target, created, updated}} with Location: /v1/operations/<id>';
const OPERATION_RESPONSE = ok('Accepted: the operation (follow it at its Location, /v1/operations/<id>).', operationAnswerSchema, 202);

export function containerActionRoutes(deps: ContainerActionDeps): RouteDef[] {
  const { exec, lifecycle, terminal, limits } = deps;
  // One object validates each body and describes it (GET /v1/openapi.json).
  const execSchema = execRequestSchema({ timeoutMaxSeconds: limits.execTimeoutMaxSeconds });
  const forkSchema = forkRequestSchema(limits);
  const batchSchema = batchRequestSchema(limits);
  return [
    {
      method: 'post',
      path: '/batch',
      summary: `Create up to ${limits.batchMaxRequests} containers as one operation; its result lists each container id or its error.`,
      body: [{ name: 'requests', type: 'object[]', required: true, description: 'Create requests (JSON fields as for POST /v1/container/).' }],
      bodySchema: batchSchema,
      answer: `${OPERATION_ANSWER}; result: {created, failed, containers: [{index, id} | {index, error: {status, body}}]}`,
      responses: OPERATION_RESPONSE,
      example: { body: { requests: [{ container_args: ['sleep', '60'] }, { container_args: ['echo', 'hi'] }] } },
      handlers: [
        async (req, res) => {
          accepted(res, await lifecycle.batchCreate(currentUser(req), parseBatchRequest(req.body, limits, batchSchema)));
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
      bodySchema: execSchema,
      answer: '200 {exit_code, stdout, stderr, duration_ms, truncated, timed_out}',
      responses: ok('The command ran to its end (or its timeout).', execResultSchema),
      example: { body: { cmd: ['/bin/sh', '-c', 'echo hello; uname -a'], timeout: 10 } },
      handlers: [
        async (req, res) => {
          const input = parseExecRequest(req.body, { timeoutMaxSeconds: limits.execTimeoutMaxSeconds }, execSchema);
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
        responses: OPERATION_RESPONSE,
        handlers: [
          async (req, res) => {
            accepted(res, await lifecycle[action](currentUser(req), id(req)));
          },
        ],
      }),
    ),
    {
      method: 'post',
      path: '/:id/snapshot',
      summary: "Commit the container's filesystem as a snapshot image (the container is paused for the commit, never stopped).",
      body: [{ name: 'name', type: 'string', description: 'A label for you.' }],
      bodySchema: snapshotRequestSchema,
      answer: `${OPERATION_ANSWER}; result: {snapshot: {id, owner, name, container, image, size, node, created}}`,
      responses: OPERATION_RESPONSE,
      example: { body: { name: 'before-upgrade' } },
      handlers: [
        async (req, res) => {
          accepted(res, await lifecycle.snapshot(currentUser(req), id(req), parseSnapshotRequest(req.body).name));
        },
      ],
    },
    {
      method: 'post',
      path: '/:id/fork',
      summary: `Branch the container into writable copies, each started from one snapshot taken now (at most ${limits.forkMaxCount}); the original keeps running. Copies start the original's command afresh and mount no volumes.`,
      body: [{ name: 'count', type: 'number', description: 'How many copies (default 1).' }],
      bodySchema: forkSchema,
      answer: `${OPERATION_ANSWER}; result: {snapshot, containers: [ids]}`,
      responses: OPERATION_RESPONSE,
      example: { body: { count: 2 } },
      handlers: [
        async (req, res) => {
          accepted(res, await lifecycle.fork(currentUser(req), id(req), parseForkRequest(req.body, limits, forkSchema).count));
        },
      ],
    },
  ];
}
