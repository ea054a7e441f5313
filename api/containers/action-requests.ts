/** Validation of the container actions' bodies and queries: a 400 names the field (DRF's shape). */
import type { Request } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import { EXEC_TAG_ENV } from '../../common/satellite-protocol';
import { parseInstant, rfc3339ToNanos } from '../../common/timestamps';
import { parseWith } from '../http/parse-body';

const NO_NUL = /^[^\u0000]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const EXEC_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$/;
const ABSOLUTE_PATH = /^\/[^\u0000-\u001f\u007f]{0,1023}$/;

export interface ExecInput {
  cmd: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  timeoutSeconds: number;
}

/** The body of POST /v1/container/<id>/exec; the route describes it with the same object it validates with. */
export function execRequestSchema(limits: { timeoutMaxSeconds: number }) {
  return z
    .object({
      cmd: z.array(z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.')).min(1, 'A command is required.').max(1024),
      env: z
        .record(z.string().regex(ENV_KEY, 'Invalid variable name.').refine((k) => k !== EXEC_TAG_ENV, `${EXEC_TAG_ENV} is reserved.`), z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.'))
        .optional(),
      workdir: z.string().regex(ABSOLUTE_PATH, 'Must be an absolute path.').optional(),
      user: z.string().regex(EXEC_USER, 'Use a user name or uid, optionally with :group.').optional(),
      timeout: z.number().positive('Must be more than 0 seconds.').max(limits.timeoutMaxSeconds, `At most ${limits.timeoutMaxSeconds} seconds.`).optional(),
    })
    .strict();
}

export function parseExecRequest(body: unknown, limits: { timeoutMaxSeconds: number }, schema: ReturnType<typeof execRequestSchema> = execRequestSchema(limits)): ExecInput {
  const raw = parseWith(schema, body);
  return {
    cmd: raw.cmd,
    env: raw.env ?? {},
    workdir: raw.workdir,
    user: raw.user,
    timeoutSeconds: raw.timeout ?? Math.min(60, limits.timeoutMaxSeconds),
  };
}

/** `?timeout=` in whole or fractional seconds, bounded. */
export function timeoutQuery(req: Request, fallback: number, max: number): number {
  const raw = req.query.timeout;
  if (raw === undefined) return Math.min(fallback, max);
  if (typeof raw !== 'string' || !/^\d{1,6}(\.\d{1,3})?$/.test(raw) || Number(raw) <= 0 || Number(raw) > max) {
    throw ValidationError.field('timeout', `Must be a number of seconds, more than 0 and at most ${max}.`);
  }
  return Number(raw);
}

/** `?wait=ready` on create; anything else is refused rather than ignored. */
export function waitQuery(req: Request): 'ready' | null {
  const raw = req.query.wait;
  if (raw === undefined) return null;
  if (raw !== 'ready') throw ValidationError.field('wait', 'The only value is "ready".');
  return 'ready';
}

/**
 * Where a stream resumes: the Last-Event-ID header (an event the client already has: strictly
 * after it), else `?since=` (RFC 3339 or unix seconds: at or after it), else the start.
 */
export function resumePoint(req: Request): { since: bigint | null; exclusive: boolean } {
  const lastEventId = req.get('last-event-id');
  if (lastEventId !== undefined && lastEventId !== '') {
    const at = rfc3339ToNanos(lastEventId) ?? parseInstant(lastEventId);
    if (at === null) throw ValidationError.field('Last-Event-ID', 'Must be an event id (a timestamp) from this stream.');
    return { since: at < 0n ? 0n : at, exclusive: true };
  }
  const since = req.query.since;
  if (since === undefined) return { since: null, exclusive: false };
  const at = typeof since === 'string' ? parseInstant(since) : null;
  if (at === null) throw ValidationError.field('since', 'Must be an RFC 3339 time (2024-05-01T10:00:00Z) or unix seconds.');
  return { since: at < 0n ? 0n : at, exclusive: false };
}

export interface SnapshotInput {
  name: string | null;
}

export const snapshotRequestSchema = z.object({ name: z.string().min(1).max(128).regex(/^[^\u0000-\u001f\u007f]*$/, 'Control characters are not allowed.').optional() }).strict();

export function parseSnapshotRequest(body: unknown): SnapshotInput {
  const raw = parseWith(snapshotRequestSchema, body ?? {});
  return { name: raw.name ?? null };
}

export function forkRequestSchema(limits: { forkMaxCount: number }) {
  return z.object({ count: z.number().int('Must be a whole number.').min(1, 'At least 1.').max(limits.forkMaxCount, `At most ${limits.forkMaxCount}.`).optional() }).strict();
}

export function parseForkRequest(body: unknown, limits: { forkMaxCount: number }, schema: ReturnType<typeof forkRequestSchema> = forkRequestSchema(limits)): { count: number } {
  const raw = parseWith(schema, body ?? {});
  return { count: raw.count ?? 1 };
}

/** `{requests: [...]}`: the list is checked here, each request later (its errors are results). */
export function batchRequestSchema(limits: { batchMaxRequests: number }) {
  return z.object({ requests: z.array(z.unknown()).min(1, 'At least one request.').max(limits.batchMaxRequests, `At most ${limits.batchMaxRequests} requests.`) }).strict();
}

export function parseBatchRequest(body: unknown, limits: { batchMaxRequests: number }, schema: ReturnType<typeof batchRequestSchema> = batchRequestSchema(limits)): unknown[] {
  const raw = parseWith(schema, body);
  return raw.requests;
}

export interface TerminalQuery {
  cmd: string[];
  cols?: number;
  rows?: number;
  user?: string;
  workdir?: string;
}

export function terminalQuery(req: Request): TerminalQuery {
  const size = (key: string): number | undefined => {
    const raw = req.query[key];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw ValidationError.field(key, 'A whole number from 1 to 1000.');
    return Number(raw);
  };
  const cmd = ([] as unknown[]).concat(req.query.cmd ?? []);
  if (cmd.length > 64 || cmd.some((part) => typeof part !== 'string' || !NO_NUL.test(part) || part.length > 4096)) {
    throw ValidationError.field('cmd', 'Give the command as repeated cmd= parameters.');
  }
  const user = req.query.user;
  if (user !== undefined && (typeof user !== 'string' || !EXEC_USER.test(user))) throw ValidationError.field('user', 'Use a user name or uid.');
  const workdir = req.query.workdir;
  if (workdir !== undefined && (typeof workdir !== 'string' || !ABSOLUTE_PATH.test(workdir))) throw ValidationError.field('workdir', 'Must be an absolute path.');
  return { cmd: cmd as string[], cols: size('cols'), rows: size('rows'), user, workdir };
}
