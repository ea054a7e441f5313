/**
 * `docker run ...` command lines ↔ ContainerSpec. Only a known set of flags is
 * accepted, parsed as the docker CLI (pflag) does: long and short forms,
 * `--flag=value` and `--flag value`, short clusters (`-it`, `-p8080:80`), flags stop
 * at the image (or `--`). Also the aux commands units may carry (kill/rm/stop/pull).
 */
import { type ContainerSpec, emptySpec } from '../common/container-spec';
import { containerNameProblem, imageReferenceProblem, networkNameProblem } from './docker-reference';
import {
  DockerRunError,
  extraHostProblem,
  formatExtraHost,
  formatMemoryBytes,
  formatNanoCpus,
  formatPortMapping,
  formatVolumeMount,
  parseFlagBoolean,
  parseMemoryBytes,
  parseExtraHost,
  parseNanoCpus,
  parsePidsLimit,
  parsePortMapping,
  parseRestartPolicy,
  parseVolumeMount,
  pidsLimitValid,
  portMappingProblem,
  volumeMountProblem,
} from './docker-run-values';

export { DockerRunError } from './docker-run-values';

/** Docker binaries a unit may name. */
export const DOCKER_BINARIES: readonly string[] = ['/usr/bin/docker', '/usr/local/bin/docker', 'docker'];

/** The docker binary that renderDockerRun writes. */
export const DOCKER_BINARY = '/usr/bin/docker';

type FlagKey =
  | 'name' | 'rm' | 'ignored' | 'env' | 'env-file' | 'publish' | 'volume' | 'workdir' | 'label'
  | 'entrypoint' | 'memory' | 'cpus' | 'pids-limit' | 'network' | 'restart' | 'add-host';

interface FlagDefinition {
  key: FlagKey;
  takesValue: boolean;
}

const valueFlag = (key: FlagKey): FlagDefinition => ({ key, takesValue: true });
const booleanFlag = (key: FlagKey): FlagDefinition => ({ key, takesValue: false });

const LONG_FLAGS: Record<string, FlagDefinition> = {
  '--name': valueFlag('name'),
  '--rm': booleanFlag('rm'),
  '--detach': booleanFlag('ignored'),
  '--interactive': booleanFlag('ignored'),
  '--tty': booleanFlag('ignored'),
  '--env': valueFlag('env'),
  '--env-file': valueFlag('env-file'),
  '--publish': valueFlag('publish'),
  '--volume': valueFlag('volume'),
  '--workdir': valueFlag('workdir'),
  '--label': valueFlag('label'),
  '--entrypoint': valueFlag('entrypoint'),
  '--memory': valueFlag('memory'),
  '--cpus': valueFlag('cpus'),
  '--pids-limit': valueFlag('pids-limit'),
  '--network': valueFlag('network'),
  '--net': valueFlag('network'),
  '--restart': valueFlag('restart'),
  '--add-host': valueFlag('add-host'),
};

const SHORT_FLAGS: Record<string, FlagDefinition> = {
  d: booleanFlag('ignored'),
  i: booleanFlag('ignored'),
  t: booleanFlag('ignored'),
  e: valueFlag('env'),
  p: valueFlag('publish'),
  v: valueFlag('volume'),
  w: valueFlag('workdir'),
  l: valueFlag('label'),
  m: valueFlag('memory'),
};

function lookup(table: Record<string, FlagDefinition>, flag: string, spelled: string): FlagDefinition {
  if (!Object.prototype.hasOwnProperty.call(table, flag)) {
    throw new DockerRunError(`unsupported docker run flag "${spelled}"`);
  }
  return table[flag];
}

/** Sets an own property even for keys such as `__proto__`. */
function setEntry(record: Record<string, string>, key: string, text: string): void {
  Object.defineProperty(record, key, { value: text, enumerable: true, writable: true, configurable: true });
}

function splitPair(text: string, flag: string): [string, string | undefined] {
  const equals = text.indexOf('=');
  const key = equals < 0 ? text : text.slice(0, equals);
  if (key === '') throw new DockerRunError(`invalid ${flag} "${text}": the name is empty`);
  return [key, equals < 0 ? undefined : text.slice(equals + 1)];
}

function isDockerBinary(path: string | undefined): boolean {
  return path !== undefined && DOCKER_BINARIES.includes(path);
}

/** A parsed `docker run`, plus whether `--restart` was written (units fall back to `Restart=`). */
export interface ParsedDockerRun {
  spec: ContainerSpec;
  restartGiven: boolean;
}

/** Applies one flag to the spec being built. */
function applyFlag(spec: ContainerSpec, key: FlagKey, text: string, spelled: string): void {
  switch (key) {
    case 'name': {
      const problem = containerNameProblem(text);
      if (problem) throw new DockerRunError(problem);
      spec.name = text;
      return;
    }
    case 'rm':
      spec.autoRemove = parseFlagBoolean(text, spelled);
      return;
    case 'ignored':
      parseFlagBoolean(text, spelled);
      return;
    case 'env': {
      const [name, envValue] = splitPair(text, 'environment variable');
      if (envValue === undefined) {
        throw new DockerRunError(`-e ${name}: the host environment is not passed to containers; write -e ${name}=value`);
      }
      setEntry(spec.env, name, envValue);
      return;
    }
    case 'env-file':
      throw new DockerRunError('--env-file reads a file on the host; use -e');
    case 'publish':
      spec.ports.push(parsePortMapping(text));
      return;
    case 'volume':
      spec.volumes.push(parseVolumeMount(text));
      return;
    case 'workdir':
      if (!text.startsWith('/')) throw new DockerRunError(`working directory "${text}" must be an absolute path`);
      spec.workdir = text;
      return;
    case 'label': {
      const [name, labelValue] = splitPair(text, 'label');
      setEntry(spec.labels, name, labelValue ?? '');
      return;
    }
    case 'entrypoint':
      spec.entrypoint = text === '' ? [] : [text];
      return;
    case 'memory':
      spec.memoryBytes = parseMemoryBytes(text);
      return;
    case 'cpus':
      spec.nanoCpus = parseNanoCpus(text);
      return;
    case 'pids-limit':
      spec.pidsLimit = parsePidsLimit(text);
      return;
    case 'network': {
      const problem = networkNameProblem(text);
      if (problem) throw new DockerRunError(problem);
      spec.network = text;
      return;
    }
    case 'restart':
      spec.restart = parseRestartPolicy(text);
      return;
    case 'add-host':
      (spec.extraHosts ??= []).push(parseExtraHost(text));
      return;
  }
}

/** Parses `docker run [flags] IMAGE [CMD...]`, reporting whether --restart was given. */
export function parseDockerRunDetailed(argv: readonly string[]): ParsedDockerRun {
  if (!isDockerBinary(argv[0]) || argv[1] !== 'run') {
    throw new DockerRunError('ExecStart must be "/usr/bin/docker run ..."');
  }
  const spec = emptySpec('', '');
  let restartGiven = false;
  const use = (definition: FlagDefinition, text: string, spelled: string): void => {
    applyFlag(spec, definition.key, text, spelled);
    if (definition.key === 'restart') restartGiven = true;
  };
  const needValue = (index: number, spelled: string): string => {
    const next = argv[index];
    if (next === undefined) throw new DockerRunError(`flag needs an argument: ${spelled}`);
    return next;
  };

  let index = 2;
  for (; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '--') {
      index += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const flag = equals < 0 ? arg : arg.slice(0, equals);
      const inline = equals < 0 ? undefined : arg.slice(equals + 1);
      const definition = lookup(LONG_FLAGS, flag, flag);
      if (definition.takesValue) {
        if (inline === undefined) index += 1;
        use(definition, inline ?? needValue(index, flag), flag);
      } else {
        use(definition, inline ?? 'true', flag);
      }
      continue;
    }
    for (let at = 1; at < arg.length; at += 1) {
      const spelled = `-${arg[at]}`;
      const definition = lookup(SHORT_FLAGS, arg[at], spelled);
      const rest = arg.slice(at + 1);
      if (definition.takesValue) {
        if (rest === '') index += 1;
        use(definition, rest === '' ? needValue(index, spelled) : rest.replace(/^=/, ''), spelled);
        break;
      }
      if (rest.startsWith('=')) {
        use(definition, rest.slice(1), spelled);
        break;
      }
      use(definition, 'true', spelled);
    }
  }

  const image = argv[index];
  if (image === undefined) throw new DockerRunError('docker run needs an image');
  const problem = imageReferenceProblem(image);
  if (problem) throw new DockerRunError(problem);
  spec.image = image;
  const cmd = argv.slice(index + 1);
  if (cmd.length > 0) spec.cmd = cmd;
  return { spec, restartGiven };
}

/** Parses `/usr/bin/docker run [flags] IMAGE [CMD...]`; name is '' when --name is absent. */
export function parseDockerRun(argv: readonly string[]): ContainerSpec {
  return parseDockerRunDetailed(argv).spec;
}

/** Why the spec cannot be written as a docker run command line, or null. */
export function dockerRunSpecProblem(spec: ContainerSpec): string | null {
  const texts = [
    spec.name, spec.image, spec.workdir ?? '', spec.network ?? '', ...(spec.cmd ?? []), ...(spec.entrypoint ?? []),
    ...Object.entries(spec.env).flat(), ...Object.entries(spec.labels).flat(),
  ];
  if (texts.some((text) => text.includes('\0'))) return 'values cannot contain NUL';
  if (spec.name !== '' && containerNameProblem(spec.name)) return containerNameProblem(spec.name);
  const imageProblem = imageReferenceProblem(spec.image);
  if (imageProblem) return imageProblem;
  const badKey = [...Object.keys(spec.env), ...Object.keys(spec.labels)].find((k) => k === '' || k.includes('='));
  if (badKey !== undefined) return `invalid environment variable or label name "${badKey}"`;
  for (const port of spec.ports) {
    const portProblem = portMappingProblem(port);
    if (portProblem) return portProblem;
  }
  for (const volume of spec.volumes) {
    const volumeProblem = volumeMountProblem(volume);
    if (volumeProblem) return volumeProblem;
  }
  for (const host of spec.extraHosts ?? []) {
    const hostProblem = extraHostProblem(host);
    if (hostProblem) return hostProblem;
  }
  if (spec.workdir !== undefined && !spec.workdir.startsWith('/')) {
    return `working directory "${spec.workdir}" must be an absolute path`;
  }
  if (spec.entrypoint !== undefined && (spec.entrypoint.length > 1 || spec.entrypoint[0] === '')) {
    return 'docker run --entrypoint takes a single non-empty word (or [] to clear it)';
  }
  if (spec.memoryBytes !== undefined && !(Number.isSafeInteger(spec.memoryBytes) && spec.memoryBytes > 0)) {
    return `invalid memory size ${spec.memoryBytes}`;
  }
  if (spec.nanoCpus !== undefined && !(Number.isSafeInteger(spec.nanoCpus) && spec.nanoCpus > 0)) {
    return `invalid nanoCpus ${spec.nanoCpus}`;
  }
  if (spec.pidsLimit !== undefined && !pidsLimitValid(spec.pidsLimit)) return `invalid pids limit ${spec.pidsLimit}`;
  if (spec.network !== undefined && networkNameProblem(spec.network)) return networkNameProblem(spec.network);
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(spec.restart)) {
    return `invalid restart policy "${String(spec.restart)}"`;
  }
  return null;
}

/**
 * The argv (`/usr/bin/docker run --name ... IMAGE CMD...`) that parseDockerRun turns
 * back into an equal spec (`cmd: []` reads back as undefined: both mean the image's
 * command). Throws DockerRunError when the spec cannot be expressed.
 */
export function renderDockerRun(spec: ContainerSpec): string[] {
  const problem = dockerRunSpecProblem(spec);
  if (problem) throw new DockerRunError(problem);
  const argv = [DOCKER_BINARY, 'run'];
  if (spec.name !== '') argv.push('--name', spec.name);
  if (spec.autoRemove) argv.push('--rm');
  for (const [key, envValue] of Object.entries(spec.env)) argv.push('-e', `${key}=${envValue}`);
  for (const [key, labelValue] of Object.entries(spec.labels)) argv.push('-l', `${key}=${labelValue}`);
  for (const port of spec.ports) argv.push('-p', formatPortMapping(port));
  for (const volume of spec.volumes) argv.push('-v', formatVolumeMount(volume));
  for (const host of spec.extraHosts ?? []) argv.push('--add-host', formatExtraHost(host));
  if (spec.workdir !== undefined) argv.push('-w', spec.workdir);
  if (spec.entrypoint !== undefined) argv.push('--entrypoint', spec.entrypoint[0] ?? '');
  if (spec.memoryBytes !== undefined) argv.push('--memory', formatMemoryBytes(spec.memoryBytes));
  if (spec.nanoCpus !== undefined) argv.push('--cpus', formatNanoCpus(spec.nanoCpus));
  if (spec.pidsLimit !== undefined) argv.push('--pids-limit', String(spec.pidsLimit));
  if (spec.network !== undefined) argv.push('--network', spec.network);
  if (spec.restart !== 'no') argv.push('--restart', spec.restart);
  argv.push(spec.image, ...(spec.cmd ?? []));
  return argv;
}

export type DockerAuxAction = 'kill' | 'rm' | 'stop' | 'pull';

/** What an ExecStartPre/ExecStop/... line does: `docker kill|rm|stop|pull NAME`. */
export interface DockerAuxCommand {
  action: DockerAuxAction;
  /** A container name (kill, rm, stop) or an image reference (pull). */
  target: string;
}

const AUX_ACTIONS: readonly string[] = ['kill', 'rm', 'stop', 'pull'];

/**
 * Parses `/usr/bin/docker kill|rm|stop|pull NAME` (`rm` may take `-f`/`--force`).
 * Anything else throws DockerRunError('units may not run host commands: ...').
 */
export function parseDockerAuxCommand(argv: readonly string[]): DockerAuxCommand {
  const refuse = (): never => {
    throw new DockerRunError(`units may not run host commands: ${argv.join(' ')}`);
  };
  const action = argv[1];
  if (!isDockerBinary(argv[0]) || action === undefined || !AUX_ACTIONS.includes(action)) return refuse();
  const operands = argv.slice(2);
  if (action === 'rm' && (operands[0] === '-f' || operands[0] === '--force')) operands.shift();
  const target = operands[0];
  if (operands.length !== 1 || target === undefined || target.startsWith('-')) return refuse();
  const problem = action === 'pull' ? imageReferenceProblem(target) : containerNameProblem(target);
  if (problem) throw new DockerRunError(`docker ${action}: ${problem}`);
  return { action: action as DockerAuxAction, target };
}
