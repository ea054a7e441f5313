/** The bodies of /v1/functions: a function's definition and an invocation. Problems are 400s naming the field. */
import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import { validationErrorFrom } from '../http/parse-body';
import type { FunctionDefinition } from '../store/functions';

export const FUNCTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const NO_NUL = /^[^\u0000]*$/;
const env = z.record(z.string().regex(ENV_KEY, 'Invalid variable name.'), z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.'));
/** 1 MiB of standard input; its base64 is at most this long (a quick bound; the decoded size decides). */
const STDIN_MAX_BYTES = 1024 * 1024;
const STDIN_MAX_BASE64 = Math.ceil(STDIN_MAX_BYTES / 3) * 4;
/** The bytes a (valid) base64 text decodes to. */
const decodedLength = (text: string): number => (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
const args = z.array(z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.')).max(1024);

export const functionRequestSchema = z
  .object({
    name: z.string().regex(FUNCTION_NAME, 'Use 1-64 letters, digits, dots, dashes or underscores.'),
    image_name: z.string().max(255).optional(),
    image_tag: z.string().max(128).optional(),
    script: z.string().optional().describe('base64, starting with a #! line'),
    cmd: args.min(1).optional().describe('the command to run instead of a script'),
    env: env.optional(),
    timeout: z.number().int('Must be a whole number of seconds.').min(1).max(3600).optional().describe('seconds; default 30'),
    memory: z.number().int().optional(),
    cpus: z.number().optional(),
    network: z.string().optional().describe('as for a container (none, private, internet)'),
    min_warm: z.number().int().min(0).max(64).optional(),
    max_warm: z.number().int().min(0).max(64).optional(),
    max_concurrency: z.number().int().min(1).max(256).optional().describe('default 4'),
    idle_timeout: z.number().int().min(1).max(86400).optional().describe('seconds; default 300'),
    reuse: z.boolean().optional().describe('true: one container serves the invocations, one at a time (default false: a fresh container each)'),
  })
  .strict();

export const invokeRequestSchema = z
  .object({
    args: args.optional(),
    stdin: z
      .string()
      .max(STDIN_MAX_BASE64, 'At most 1 MiB of standard input.')
      .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'Must be base64.')
      // Stored with the run (any replica stages it): the cap is on the bytes, not the base64's length.
      .refine((text) => text.length > STDIN_MAX_BASE64 || decodedLength(text) <= STDIN_MAX_BYTES, 'At most 1 MiB of standard input.')
      .optional()
      .describe('base64: the script\'s standard input'),
    env: env.optional(),
  })
  .strict();

export interface FunctionRequest {
  name: string;
  definition: FunctionDefinition;
}

export interface InvokeRequest {
  args: string[];
  env: Record<string, string>;
  /** base64; the script's standard input (none: empty). */
  stdin?: string;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw ValidationError.field('non_field_errors', 'Invalid data. Expected a dictionary.');
  return body as Record<string, unknown>;
}

/** The definition; the script, image and limits are checked again as a create request at each invocation. */
export function parseFunctionRequest(body: unknown): FunctionRequest {
  const result = functionRequestSchema.safeParse(objectBody(body));
  if (!result.success) throw validationErrorFrom(result.error);
  const raw = result.data;
  if ((raw.script === undefined) === (raw.cmd === undefined)) throw ValidationError.field('script', 'Give either script (base64) or cmd.');
  const minWarm = raw.min_warm ?? 0;
  const maxWarm = raw.max_warm ?? Math.max(minWarm, 1);
  if (maxWarm < minWarm) throw ValidationError.field('max_warm', 'Must be at least min_warm.');
  return {
    name: raw.name,
    definition: {
      imageName: raw.image_name ?? '',
      imageTag: raw.image_tag ?? '',
      script: raw.script ?? null,
      cmd: raw.cmd ?? null,
      env: raw.env ?? {},
      timeoutSeconds: raw.timeout ?? 30,
      memory: raw.memory ?? null,
      cpus: raw.cpus ?? null,
      network: raw.network ?? null,
      minWarm,
      maxWarm,
      maxConcurrency: raw.max_concurrency ?? 4,
      idleTimeoutSeconds: raw.idle_timeout ?? 300,
      reuse: raw.reuse ?? false,
    },
  };
}

export function parseInvokeRequest(body: unknown): InvokeRequest {
  const result = invokeRequestSchema.safeParse(body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0) ? {} : objectBody(body));
  if (!result.success) throw validationErrorFrom(result.error);
  const request: InvokeRequest = { args: result.data.args ?? [], env: result.data.env ?? {} };
  if (result.data.stdin !== undefined) request.stdin = result.data.stdin;
  return request;
}
