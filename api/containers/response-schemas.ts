/**
 * The JSON answers of /v1/container/ as zod schemas: the route table hands them to the API
 * description (GET /v1/openapi.json), and test/api/openapi.test.ts parses real answers with these
 * same objects. Strict: a field added to a view (view.ts, service.ts) without its line here fails
 * that test instead of going undescribed.
 */
import { z } from 'zod';
import { NETWORK_MODES } from '../../common/network-model';
import type { ResponseDoc } from '../http/route-table';

const isoTime = z.string().describe('ISO 8601 UTC');
const networkModeSchema = z.enum(NETWORK_MODES);

/** Where one exposed port is reached now (PortView); host_ip/host_port null while not published. */
const portSchema = z
  .object({
    port: z.number().int(),
    protocol: z.enum(['tcp', 'udp']),
    host_ip: z.string().nullable().describe("The machine's advertised address (null while not published)."),
    host_port: z.number().int().nullable().describe('The host port the engine published (null while not published).'),
  })
  .strict();
const portsSchema = z.array(portSchema).describe('Each exposed port and where other machines reach it now.');

export const containerStatusSchema = z.enum(['creating', 'starting', 'running', 'restarting', 'paused', 'exited', 'error', 'lost', 'stopped']);

/** One entry of GET /v1/container/ (ContainerSummaryView). */
export const containerSummarySchema = z
  .object({
    id: z.string().describe('32 hex characters'),
    image: z.string(),
    owner: z.string(),
    node: z.string().nullable().describe('The machine that holds it (null before it is placed).'),
    unit: z.string().describe('Its unit, as GET /fleet/v1/units names it.'),
    created: isoTime,
    status: containerStatusSchema,
    exit_code: z.number().int().nullable(),
    reason: z.string().nullable().describe('Why it is in error or lost (null otherwise).'),
    expires_at: isoTime.nullable().describe('When the reaper removes it (null: when deleted).'),
    hostname: z.string().nullable().describe("Its DNS label among its owner's containers (null: none)."),
    network: networkModeSchema.nullable().describe('none, private or internet (null: made before network modes).'),
    ports: portsSchema,
  })
  .strict();

/** A container's record (ContainerView): the summary and its request fields. */
export const containerSchema = containerSummarySchema
  .extend({
    permanent: z.boolean(),
    scriptname: z.string().nullable(),
    scripturl: z.string().nullable(),
    dataurl: z.string().nullable(),
    datapath: z.string().nullable(),
    container_args: z.array(z.string()),
    env: z.record(z.string()),
    snapshot: z.string().nullable(),
    volumes: z.array(z.object({ volume: z.string(), path: z.string(), readonly: z.boolean() }).strict()),
    ttl: z.number().int().nullable().describe('Its lifetime in seconds (null: none).'),
    links: z.record(z.string()).describe('Links as asked for: alias → container id.'),
  })
  .strict();

/** GET /:id/state (ContainerState). */
export const containerStateSchema = z
  .object({
    fleet_state: z.object({ name: z.string(), loadState: z.string(), activeState: z.string(), subState: z.string() }).strict().describe('As systemd would show the unit.'),
    docker_state: z
      .object({ Status: z.string(), Running: z.boolean(), Paused: z.boolean(), Restarting: z.boolean(), OOMKilled: z.boolean(), Dead: z.boolean(), Pid: z.number().int(), ExitCode: z.number().int(), Error: z.string(), StartedAt: z.string(), FinishedAt: z.string() })
      .partial()
      .describe("The engine's State of the container ({} before the engine has it)."),
    status: containerStatusSchema,
    reason: z.string().nullable(),
    node: z.string().nullable(),
    copies: z.array(z.string()).optional().describe('Other copies that may still run (a machine cut off keeps its copy until it reconnects).'),
    expires_at: isoTime.nullable(),
    hostname: z.string().nullable(),
    network: networkModeSchema.nullable(),
    ports: portsSchema,
  })
  .strict();

/** GET /:id/metrics (ContainerMetrics). */
export const containerMetricsSchema = z
  .object({
    timestamp: isoTime,
    cpu_percent: z.number().nullable(),
    online_cpus: z.number().int(),
    memory: z.object({ usage_bytes: z.number(), limit_bytes: z.number(), percent: z.number().nullable() }).strict(),
    network: z.object({ rx_bytes: z.number(), tx_bytes: z.number() }).strict(),
    pids: z.number().int(),
    block_io: z.object({ read_bytes: z.number(), write_bytes: z.number() }).strict().nullable(),
  })
  .strict();

/** POST /:id/exec (ExecResult). */
export const execResultSchema = z
  .object({
    exit_code: z.number().int().nullable().describe('null when the engine could not tell (a killed exec).'),
    stdout: z.string(),
    stderr: z.string(),
    duration_ms: z.number(),
    truncated: z.boolean(),
    timed_out: z.boolean(),
  })
  .strict();

/** GET /:id/changes: the engine's diff (0 modified, 1 added, 2 deleted). */
export const changesSchema = z.array(z.object({ Path: z.string(), Kind: z.union([z.literal(0), z.literal(1), z.literal(2)]) }).strict());

/** GET /:id/file: the changed regular files, numbered for /filebynum/<num>. */
export const filesSchema = z.array(z.object({ num: z.number().int(), path: z.string(), size: z.number().int() }).strict());

/** 202 of every action run as an operation. */
export const operationAnswerSchema = z
  .object({
    operation: z
      .object({
        id: z.string(),
        kind: z.enum(['start', 'stop', 'restart', 'snapshot', 'fork', 'batch_create']),
        status: z.enum(['pending', 'running', 'succeeded', 'failed']),
        target: z.string(),
        created: isoTime,
        updated: isoTime,
        result: z.unknown().optional(),
        error: z.string().optional(),
      })
      .strict(),
  })
  .strict();

export const ok = (description: string, schema: z.ZodTypeAny, status = 200): ResponseDoc[] => [{ status, description, schema }];
