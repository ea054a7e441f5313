/**
 * Reads a create request (JSON with a base64 script, or multipart with the script as file field
 * `script`) into a typed, validated CreateContainerInput. Every problem is a 400 naming its field;
 * an oversized script is a 413.
 */
import { parse as shellParse } from 'shell-quote';
import { z } from 'zod';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../common/errors';
import { SCRIPT_DIR } from '../../common/satellite-protocol';
import { validationErrorFrom } from '../http/parse-body';
import { HostPortPolicy } from '../../common/host-ports';
import { namesReservedImage } from './reserved-images';
import { HOSTNAME, isNetworkMode, NETWORK_MODES, type NetworkMode } from '../../common/network-model';

export interface CreateContainerInput {
  image: string;
  imageName: string;
  imageTag: string;
  script: Buffer | null;
  scriptname: string;
  scripturl: string | null;
  dataurl: string | null;
  datapath: string | null;
  args: string[];
  env: Record<string, string>;
  permanent: boolean;
  /** Start from this snapshot's image instead of image_name (resolved by attachments.ts). */
  snapshot: string | null;
  /** Named volumes to mount, by the owner's volume name (or volume id). */
  volumes: VolumeRequest[];
  /** Limits asked for; what is not asked for gets the installation's defaults. */
  resources: ResourceRequest;
  /**
   * `ttl`: seconds the container lives from its creation; 0 asks for no lifetime; null: not asked
   * (one-shot containers then get the installation's default, permanent ones none).
   */
  ttlSeconds: number | null;
  /** `hostname`: the container's DNS label, unique among the owner's containers; null: none. */
  hostname: string | null;
  /** `network`: what the container may reach (the installation's default when not asked). */
  network: NetworkMode;
  /** Container ports to publish on the container's host (`ports`). */
  ports: PortRequest[];
  /** `links`: alias → the linked container's id (resolved, owner-checked, by references.ts). */
  links: Record<string, string>;
}

/** One exposed port; hostPort only inside the administrator's range (BOATLOAD_HOST_PORTS). */
export interface PortRequest {
  port: number;
  protocol: 'tcp' | 'udp';
  hostPort?: number;
}

export interface ResourceRequest {
  memoryBytes?: number;
  /** CPUs in units of 1e-9, as the engine's NanoCpus. */
  nanoCpus?: number;
  pidsLimit?: number;
}

export interface VolumeRequest {
  name: string;
  path: string;
  readonly: boolean;
}

export interface CreateRequestLimits {
  scriptMaxBytes: number;
  defaultImage: string;
  /** The administrator's maxima for per-request limits (BOATLOAD_CONTAINER_*_MAX). */
  resourceMaxima: Required<ResourceRequest>;
  /** BOATLOAD_CONTAINER_TTL_MAX_SECONDS; null: no maximum. */
  ttlMaxSeconds: number | null;
  /** BOATLOAD_HOST_PORTS: where a fixed host port may be; absent: nowhere. */
  hostPorts?: HostPortPolicy;
  /** BOATLOAD_NETWORK_DEFAULT and BOATLOAD_NETWORK_MODES. */
  network: NetworkModeLimits;
}

export interface NetworkModeLimits {
  defaultMode: NetworkMode;
  allowed: readonly NetworkMode[];
}

/** The engine refuses memory limits under 6 MB. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;


/** A hundred years: beyond any maximum, and well inside what a Date can hold. */
const TTL_CEILING_SECONDS = 100 * 365 * 24 * 3600;

const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
const NO_NUL = /^[^\u0000]*$/;
// Docker's reference grammar: optional registry host[:port], lowercase path components.
const IMAGE_NAME = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SCRIPT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const FORBIDDEN_DATA_ROOTS = ['/proc', '/sys', '/dev', SCRIPT_DIR];

const MOUNT_PATH = /^\/[^\u0000-\u001f\u007f:]*$/;
const volumeMount = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'Enter a volume name or id.'),
    path: z
      .string()
      .max(1024)
      .regex(MOUNT_PATH, 'Must be an absolute path without ":" or control characters.')
      .refine((p) => !p.split('/').includes('..'), 'Must not contain "..".')
      .refine((p) => {
        const clean = p.replace(/\/+$/, '');
        return clean !== '' && !FORBIDDEN_DATA_ROOTS.some((root) => clean === root || clean.startsWith(root + '/'));
      }, 'A volume cannot be mounted there.'),
    readonly: z.boolean().optional(),
  })
  .strict();

/** A TCP or UDP port number. */
const portNumber = z.number().int('Must be a whole number.').min(1, 'Ports are 1-65535.').max(65535, 'Ports are 1-65535.');
const portEntry = z.union([
  z.string().max(16),
  z.object({ port: portNumber, protocol: z.enum(['tcp', 'udp']).optional(), host_port: portNumber.optional() }).strict(),
]);
/** A link alias: a DNS label (it becomes a host name in the container and a variable prefix). */
const LINK_ALIAS = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const url = z.string().max(2048).regex(NO_CONTROL_CHARS, 'Control characters are not allowed.').url('Enter a valid URL.');

/** The body of a create; the route describes it with this same object (limits are checked after it). */
export const createRequestSchema = z
  .object({
    image_name: z.string().max(255).regex(IMAGE_NAME, 'Enter a valid image name, such as boatload/base.').optional(),
    image_tag: z.string().regex(IMAGE_TAG, 'Enter a valid image tag, such as latest.').optional(),
    script: z.string().optional(),
    scriptname: z.string().regex(SCRIPT_NAME, 'Use 1-128 letters, digits, dots, dashes or underscores.').optional(),
    scripturl: url.optional(),
    dataurl: url.optional(),
    datapath: z
      .string()
      .max(1024)
      .regex(NO_CONTROL_CHARS, 'Control characters are not allowed.')
      .refine((p) => p.startsWith('/'), 'Must be an absolute path.')
      .refine((p) => !p.split('/').includes('..'), 'Must not contain "..".')
      .optional(),
    container_args: z.union([z.string().max(65536), z.array(z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.')).max(1024)]).optional(),
    env: z.record(z.string().regex(ENV_KEY, 'Invalid variable name.'), z.string().max(65536).regex(NO_NUL, 'NUL characters are not allowed.')).optional(),
    permanent: z.boolean().optional(),
    ttl: z.number().int('Must be a whole number of seconds.').min(0, 'Must be 0 (no lifetime) or more seconds.').max(TTL_CEILING_SECONDS, `At most ${TTL_CEILING_SECONDS} seconds.`).optional(),
    memory: z.number().int('Must be a whole number of bytes.').min(MIN_MEMORY_BYTES, `At least ${MIN_MEMORY_BYTES} bytes.`).optional(),
    cpus: z.number().min(0.01, 'At least 0.01.').optional(),
    pids: z.number().int('Must be a whole number.').min(8, 'At least 8.').optional(),
    snapshot: z.string().regex(/^[0-9a-f]{32}$/, 'Enter a snapshot id.').optional(),
    hostname: z.string().max(63, 'At most 63 characters.').regex(HOSTNAME, 'Enter a DNS label: lowercase letters, digits and dashes (not first or last), at most 63.').optional(),
    network: z.string().refine(isNetworkMode, `Must be one of ${NETWORK_MODES.join(', ')}.`).optional(),
    volumes: z
      .array(volumeMount)
      .max(16)
      .refine((mounts) => new Set(mounts.map((m) => m.path.replace(/\/+$/, ''))).size === mounts.length, 'Each volume needs its own path.')
      .optional(),
    ports: z.array(portEntry).max(64, 'At most 64 ports.').optional(),
    links: z
      .record(z.string().regex(LINK_ALIAS, 'A link name is a DNS label: lowercase letters, digits and inner dashes, at most 63.'), z.string().max(255).regex(NO_CONTROL_CHARS, 'Control characters are not allowed.'))
      .refine((links) => Object.keys(links).length <= 16, 'At most 16 links.')
      .optional(),
  })
  .strict();

type RawCreateRequest = z.infer<typeof createRequestSchema>;

function splitArgs(args: string | string[] | undefined): string[] {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args;
  if (args.includes('\0')) throw ValidationError.field('container_args', 'NUL characters are not allowed.');
  // Split like a shell would, but never run a shell: $VARS stay literal, operators are refused.
  const parsed = shellParse(args, (key) => `$${key}`);
  return parsed.map((part) => {
    if (typeof part === 'string') return part;
    if ('op' in part && part.op === 'glob') return part.pattern;
    throw ValidationError.field('container_args', 'Shell operators (; | & > < and the like) are not allowed: arguments are not run through a shell.');
  });
}

function decodeScript(script: string, limits: CreateRequestLimits): Buffer {
  const compact = script.replace(/[\r\n]/g, '');
  if (!BASE64.test(compact)) throw ValidationError.field('script', 'The script must be valid base64.');
  const decoded = Buffer.from(compact, 'base64');
  checkScript(decoded, limits.scriptMaxBytes, 'script');
  return decoded;
}

/** A script runs as the container's command, so the kernel must be able to execute it. */
export function checkScript(script: Buffer, scriptMaxBytes: number, field: string): void {
  if (script.length > scriptMaxBytes) {
    throw new PayloadTooLargeError(`${field}: the script is ${script.length} bytes; the limit is ${scriptMaxBytes}.`);
  }
  if (script.length === 0) throw ValidationError.field(field, 'The script is empty.');
  const isShebang = script[0] === 0x23 && script[1] === 0x21;
  const isElf = script.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  if (!isShebang && !isElf) {
    throw ValidationError.field(field, 'The script must start with a #! line (for example #!/bin/sh) or be an executable.');
  }
}

function checkDatapath(datapath: string | undefined, dataurl: string | undefined): void {
  if (dataurl && !datapath) throw ValidationError.field('datapath', 'Required when dataurl is given.');
  if (datapath && !dataurl) throw ValidationError.field('dataurl', 'Required when datapath is given.');
  if (!datapath) return;
  const clean = datapath.replace(/\/+$/, '') || '/';
  if (clean === '/' || FORBIDDEN_DATA_ROOTS.some((root) => clean === root || clean.startsWith(root + '/'))) {
    throw ValidationError.field('datapath', `Data cannot be placed at ${clean}.`);
  }
}

/** Multipart fields arrive as strings: turn the typed ones back into JSON values first. */
export function fromMultipartFields(fields: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...fields };
  if (typeof body.permanent === 'string') {
    if (!/^(true|false|1|0)$/i.test(body.permanent)) throw ValidationError.field('permanent', 'Must be true or false.');
    body.permanent = /^(true|1)$/i.test(body.permanent);
  }
  for (const field of ['memory', 'cpus', 'pids', 'ttl']) {
    const value = body[field];
    if (typeof value === 'string') body[field] = /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  if (typeof body.env === 'string') {
    try {
      body.env = JSON.parse(body.env);
    } catch {
      throw ValidationError.field('env', 'Must be a JSON object of strings.');
    }
  }
  for (const [field, shape] of [['ports', 'a JSON list such as ["8080", "53/udp"]'], ['links', 'a JSON object such as {"db": "<container id>"}']]) {
    if (typeof body[field] !== 'string') continue;
    try {
      body[field] = JSON.parse(body[field]);
    } catch {
      throw ValidationError.field(field, `Must be ${shape}.`);
    }
  }
  if (typeof body.volumes === 'string') {
    try {
      body.volumes = JSON.parse(body.volumes);
    } catch {
      throw ValidationError.field('volumes', 'Must be a JSON list of {name, path, readonly}.');
    }
  }
  return body;
}

/**
 * Validates a request body. `uploadedScript` is the multipart file, when there is one.
 */
export function parseCreateRequest(body: unknown, uploadedScript: Buffer | null, limits: CreateRequestLimits): CreateContainerInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.field('non_field_errors', 'Invalid data. Expected a dictionary.');
  }
  const result = createRequestSchema.safeParse(body);
  if (!result.success) throw validationErrorFrom(result.error);
  const raw: RawCreateRequest = result.data;
  if (uploadedScript && raw.script !== undefined) throw ValidationError.field('script', 'Send the script as a file or as base64, not both.');
  let script: Buffer | null = null;
  if (uploadedScript) {
    checkScript(uploadedScript, limits.scriptMaxBytes, 'script');
    script = uploadedScript;
  } else if (raw.script !== undefined) {
    script = decodeScript(raw.script, limits);
  }
  if (script && raw.scripturl) throw ValidationError.field('scripturl', 'Give either script or scripturl, not both.');
  checkDatapath(raw.datapath, raw.dataurl);
  if (raw.snapshot && (raw.image_name !== undefined || raw.image_tag !== undefined)) {
    throw ValidationError.field('snapshot', 'Give either snapshot or image_name/image_tag, not both.');
  }
  // Snapshot images are reached only through `snapshot`, which checks the owner.
  if (raw.image_name !== undefined && namesReservedImage(raw.image_name)) throw new NotFoundError();
  const imageName = raw.image_name ?? limits.defaultImage;
  const imageTag = raw.image_tag ?? 'latest';
  return {
    image: `${imageName}:${imageTag}`,
    imageName,
    imageTag,
    script,
    scriptname: raw.scriptname ?? 'script',
    scripturl: raw.scripturl ?? null,
    dataurl: raw.dataurl ?? null,
    datapath: raw.datapath ? raw.datapath.replace(/\/+$/, '') : null,
    args: splitArgs(raw.container_args),
    env: raw.env ?? {},
    permanent: raw.permanent ?? false,
    snapshot: raw.snapshot ?? null,
    volumes: (raw.volumes ?? []).map((v) => ({ name: v.name, path: v.path.replace(/\/+$/, ''), readonly: v.readonly ?? false })),
    resources: resourcesWithin(raw, limits.resourceMaxima),
    ttlSeconds: ttlWithin(raw.ttl, limits.ttlMaxSeconds),
    hostname: raw.hostname ?? null,
    network: networkWithin(raw.network, limits.network),
    ports: portsOf(raw.ports ?? [], limits.hostPorts ?? HostPortPolicy.none()),
    links: raw.links ?? {},
  };
}

/** `"8080"`, `"53/udp"`: a container port and an optional protocol (no host port: see host_port). */
const PORT_SHORTHAND = /^(\d{1,5})(?:\/(tcp|udp))?$/;

/** The requested ports: each well-formed, none repeated, fixed host ports only inside the range. */
function portsOf(entries: ReadonlyArray<string | { port: number; protocol?: 'tcp' | 'udp'; host_port?: number }>, hostPorts: HostPortPolicy): PortRequest[] {
  const ports: PortRequest[] = [];
  const seen = new Set<string>();
  const seenHost = new Set<string>();
  entries.forEach((entry, index) => {
    const refuse = (message: string): never => {
      throw ValidationError.field('ports', `Item ${index + 1}: ${message}`);
    };
    let port: PortRequest;
    if (typeof entry === 'string') {
      const match = PORT_SHORTHAND.exec(entry);
      if (!match) return refuse(`"${entry}" is not a port: write "8080" or "53/udp" (a fixed host port is {"port": 80, "host_port": N}).`);
      const number = Number(match[1]);
      if (number < 1 || number > 65535) return refuse('Ports are 1-65535.');
      port = { port: number, protocol: (match[2] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
    } else {
      port = { port: entry.port, protocol: entry.protocol ?? 'tcp' };
      if (entry.host_port !== undefined) {
        const problem = hostPorts.problem(entry.host_port);
        if (problem) return refuse(problem);
        port.hostPort = entry.host_port;
      }
    }
    const key = `${port.port}/${port.protocol}`;
    if (seen.has(key)) return refuse(`${key} is listed twice.`);
    seen.add(key);
    if (port.hostPort !== undefined) {
      const hostKey = `${port.hostPort}/${port.protocol}`;
      if (seenHost.has(hostKey)) return refuse(`host port ${hostKey} is listed twice.`);
      seenHost.add(hostKey);
    }
    ports.push(port);
  });
  return ports;
}

/** The mode asked for (else the default), if the administrator allows it. */
function networkWithin(asked: string | undefined, limits: NetworkModeLimits): NetworkMode {
  const mode = asked === undefined ? limits.defaultMode : asked;
  if (!isNetworkMode(mode)) throw ValidationError.field('network', `Must be one of ${NETWORK_MODES.join(', ')}.`);
  if (!limits.allowed.includes(mode)) {
    throw ValidationError.field('network', `The network mode "${mode}" is not allowed here; allowed: ${limits.allowed.join(', ')}.`);
  }
  return mode;
}

/** The asked-for lifetime, at most the administrator's maximum (and then "none" is over it too). */
function ttlWithin(ttl: number | undefined, maxSeconds: number | null): number | null {
  if (ttl === undefined) return null;
  if (maxSeconds !== null && (ttl === 0 || ttl > maxSeconds)) {
    const asked = ttl === 0 ? '0 (no lifetime) is over' : `${ttl} is over`;
    throw ValidationError.field('ttl', `Must be from 1 to ${maxSeconds} seconds: ${asked} the administrator's maximum.`);
  }
  return ttl;
}

/** Per-request limits, each at most the administrator's maximum. */
function resourcesWithin(raw: { memory?: number; cpus?: number; pids?: number }, maxima: Required<ResourceRequest>): ResourceRequest {
  const errors: Record<string, string[]> = {};
  const resources: ResourceRequest = {};
  if (raw.memory !== undefined) {
    if (raw.memory > maxima.memoryBytes) errors.memory = [`At most ${maxima.memoryBytes} bytes (the administrator's maximum).`];
    resources.memoryBytes = raw.memory;
  }
  if (raw.cpus !== undefined) {
    const nanoCpus = Math.round(raw.cpus * 1e9);
    if (nanoCpus > maxima.nanoCpus) errors.cpus = [`At most ${maxima.nanoCpus / 1e9} (the administrator's maximum).`];
    resources.nanoCpus = nanoCpus;
  }
  if (raw.pids !== undefined) {
    if (raw.pids > maxima.pidsLimit) errors.pids = [`At most ${maxima.pidsLimit} (the administrator's maximum).`];
    resources.pidsLimit = raw.pids;
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return resources;
}
