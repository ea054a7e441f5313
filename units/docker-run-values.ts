/**
 * The values of `docker run` flags: parsing each the way the docker CLI does and
 * formatting it back so the parse gives the same value.
 */
import { isIP } from 'node:net';
import type { ExtraHost, PortMapping, RestartPolicy, VolumeMount } from '../common/container-spec';
import { volumeNameProblem } from './docker-reference';

export class DockerRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerRunError';
  }
}

const MAX_PORT = 65535;

function parsePort(text: string, what: string): number {
  if (/^\d+-\d+$/.test(text)) throw new DockerRunError(`port ranges are not supported ("${text}")`);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= MAX_PORT)) throw new DockerRunError(`invalid ${what} "${text}"`);
  return port;
}

/** `-p [ip:][hostPort:]containerPort[/tcp|udp]`; IPv6 addresses go in brackets. */
export function parsePortMapping(text: string): PortMapping {
  let rest = text;
  let protocol: PortMapping['protocol'] = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const name = rest.slice(slash + 1);
    if (name !== 'tcp' && name !== 'udp') throw new DockerRunError(`unsupported port protocol "${name}" in "${text}"`);
    protocol = name;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  let parts: string[];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    hostIp = rest.slice(1, Math.max(close, 1));
    if (close < 0 || rest[close + 1] !== ':' || isIP(hostIp) !== 6) {
      throw new DockerRunError(`invalid published port "${text}"`);
    }
    parts = ['', ...rest.slice(close + 2).split(':')];
  } else {
    parts = rest.split(':');
  }
  if (parts.length === 3) {
    hostIp ??= parts[0];
    if (isIP(hostIp) !== 4 && isIP(hostIp) !== 6) throw new DockerRunError(`invalid host IP in published port "${text}"`);
  } else if (parts.length > 3 || (hostIp !== undefined && parts.length !== 3)) {
    throw new DockerRunError(`invalid published port "${text}"`);
  }
  const containerPort = parsePort(parts[parts.length - 1], 'container port');
  const hostPortText = parts.length >= 2 ? parts[parts.length - 2] : '';
  const mapping: PortMapping = { containerPort, protocol };
  if (hostPortText !== '') mapping.hostPort = parsePort(hostPortText, 'host port');
  if (hostIp !== undefined) mapping.hostIp = hostIp;
  return mapping;
}

/** Why a port mapping cannot be written as `-p`, or null. */
export function portMappingProblem(port: PortMapping): string | null {
  const validPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_PORT;
  if (!validPort(port.containerPort)) return `invalid container port ${port.containerPort}`;
  if (port.hostPort !== undefined && !validPort(port.hostPort)) return `invalid host port ${port.hostPort}`;
  if (port.protocol !== 'tcp' && port.protocol !== 'udp') return `invalid protocol "${String(port.protocol)}"`;
  if (port.hostIp !== undefined && isIP(port.hostIp) === 0) return `invalid host IP "${port.hostIp}"`;
  return null;
}

export function formatPortMapping(port: PortMapping): string {
  const protocol = port.protocol === 'udp' ? '/udp' : '';
  if (port.hostIp !== undefined) {
    const ip = isIP(port.hostIp) === 6 ? `[${port.hostIp}]` : port.hostIp;
    return `${ip}:${port.hostPort ?? ''}:${port.containerPort}${protocol}`;
  }
  const host = port.hostPort === undefined ? '' : `${port.hostPort}:`;
  return `${host}${port.containerPort}${protocol}`;
}

/** Why a volume mount cannot be written as `-v`, or null. */
export function volumeMountProblem(volume: VolumeMount): string | null {
  const { source, target } = volume;
  if (source.includes(':') || target.includes(':') || source.includes('\0') || target.includes('\0')) {
    return `volume paths cannot contain ":" or NUL ("${source}:${target}")`;
  }
  if (!source.startsWith('/') && volumeNameProblem(source)) {
    return `volume source "${source}" must be an absolute host path or a volume name`;
  }
  if (!target.startsWith('/')) return `volume target "${target}" must be an absolute path`;
  return null;
}

/** `-v source:target[:ro|rw]`: source is an absolute host path or a volume name. */
export function parseVolumeMount(text: string): VolumeMount {
  const parts = text.split(':');
  if (parts.length === 1) {
    throw new DockerRunError(`anonymous volumes are not supported ("-v ${text}"); use NAME:${text}`);
  }
  const [source, target, mode] = parts as [string, string, string | undefined];
  if (parts.length > 3 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new DockerRunError(`invalid volume "${text}": expected source:target[:ro|rw]`);
  }
  const volume: VolumeMount = { source, target, readonly: mode === 'ro' };
  const problem = volumeMountProblem(volume);
  if (problem) throw new DockerRunError(problem);
  return volume;
}

export function formatVolumeMount(volume: VolumeMount): string {
  return `${volume.source}:${volume.target}${volume.readonly ? ':ro' : ''}`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's RAMInBytes: `512`, `512b`, `64k`, `1.5g`, `2GiB` (binary units). */
export function parseMemoryBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  const bytes = match ? Math.trunc(Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]) : NaN;
  if (!(Number.isSafeInteger(bytes) && bytes > 0)) throw new DockerRunError(`invalid memory size "${text}"`);
  return bytes;
}

/** Bytes in the largest binary unit that divides them: `536870912` → `512m`. */
export function formatMemoryBytes(bytes: number): string {
  for (const [unit, size] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

const NANO = 1_000_000_000;

/** `--cpus 1.5` → 1500000000 nano-CPUs; more than 9 decimals is "too precise", as in docker. */
export function parseNanoCpus(text: string): number {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || !/\d/.test(text)) throw new DockerRunError(`invalid --cpus value "${text}"`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new DockerRunError(`--cpus value "${text}" is too precise`);
  const nano = Number(match[1] || '0') * NANO + Number(fraction.padEnd(9, '0'));
  if (!(Number.isSafeInteger(nano) && nano > 0)) throw new DockerRunError(`invalid --cpus value "${text}"`);
  return nano;
}

export function formatNanoCpus(nano: number): string {
  const whole = Math.floor(nano / NANO);
  const fraction = String(nano % NANO).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? String(whole) : `${whole}.${fraction}`;
}

/** `--pids-limit`: a positive integer, or -1 for unlimited. */
export function parsePidsLimit(text: string): number {
  const limit = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!pidsLimitValid(limit)) throw new DockerRunError(`invalid --pids-limit "${text}": use a positive number or -1`);
  return limit;
}

export function pidsLimitValid(limit: number): boolean {
  return Number.isSafeInteger(limit) && (limit > 0 || limit === -1);
}

/** `--restart no|always|unless-stopped|on-failure[:N]`; the retry count N is not kept. */
export function parseRestartPolicy(text: string): RestartPolicy {
  if (text === 'no' || text === 'always' || text === 'unless-stopped' || text === 'on-failure') return text;
  if (/^on-failure:\d+$/.test(text)) return 'on-failure';
  throw new DockerRunError(`invalid --restart policy "${text}": use no, always, on-failure[:N] or unless-stopped`);
}

/** Go's strconv.ParseBool, as used by the docker CLI for `--flag=value`. */
export function parseFlagBoolean(text: string, flag: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new DockerRunError(`invalid boolean "${text}" for ${flag}`);
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Why an extra host cannot be written as `--add-host name:ip`, or null. */
export function extraHostProblem(host: ExtraHost): string | null {
  if (!HOST_NAME.test(host.name)) return `invalid host name "${host.name}" in --add-host`;
  if (isIP(host.ip) === 0) return `invalid IP address "${host.ip}" in --add-host`;
  return null;
}

/** `--add-host name:ip` (docker also reads `name=ip`; the name has no colon, an IPv6 address may). */
export function parseExtraHost(text: string): ExtraHost {
  const separator = text.search(/[:=]/);
  if (separator < 0) throw new DockerRunError(`invalid --add-host "${text}": expected name:ip`);
  const host = { name: text.slice(0, separator), ip: text.slice(separator + 1).replace(/^\[(.*)\]$/, '$1') };
  const problem = extraHostProblem(host);
  if (problem) throw new DockerRunError(problem);
  return host;
}

export function formatExtraHost(host: ExtraHost): string {
  return `${host.name}:${host.ip}`;
}
