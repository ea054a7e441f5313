/**
 * Container units: rendering a ContainerSpec as fleet-style unit options, and reading
 * an operator-submitted unit back into a ContainerSpec. User text only reaches a unit
 * line through renderExecLine or sanitizeDescription, so no value can add or change
 * a directive.
 */
import type { ContainerSpec, RestartPolicy } from '../common/container-spec';
import { containerNameProblem } from './docker-reference';
import {
  DOCKER_BINARY,
  DockerRunError,
  parseDockerAuxCommand,
  parseDockerRunDetailed,
  renderDockerRun,
} from './docker-run';
import { ExecLineError, parseExecLine, renderExecLine } from './exec-line';
import { MAX_OPTION_LINE_BYTES, type UnitOption, joinContinuationLines, unitOptionProblem } from './unit-file';
import { expandSpecifiers, unitNameParts, unitNameProblem } from './unit-name';

export class UnitSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitSpecError';
  }
}

export interface ContainerUnitInput {
  spec: ContainerSpec;
  description: string;
  /** Pins the unit to a machine (`[X-Fleet] MachineID=`). */
  machineId?: string;
}

/** [Service] directives that run commands; all but ExecStart may only be docker aux commands. */
const EXEC_DIRECTIVES: readonly string[] = [
  'ExecCondition', 'ExecStartPre', 'ExecStart', 'ExecStartPost', 'ExecReload', 'ExecStop', 'ExecStopPost',
];

/** systemd's Restart= values and the docker policy closest to each. */
const RESTART_POLICIES: Record<string, RestartPolicy> = {
  '': 'no',
  no: 'no',
  always: 'always',
  'on-success': 'always',
  'on-failure': 'on-failure',
  'on-abnormal': 'on-failure',
  'on-abort': 'on-failure',
  'on-watchdog': 'on-failure',
};

// C0, DEL, C1, line/paragraph separators and lone surrogates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const DESCRIPTION_BUDGET = MAX_OPTION_LINE_BYTES - 'Description='.length;

/**
 * One line of printable text for `Description=`: control characters become spaces,
 * whitespace runs collapse, `%` is doubled (systemd specifiers), trailing backslashes
 * are dropped (they would continue the line), and the line fits fleet's length limit.
 */
export function sanitizeDescription(text: string): string {
  const flat = text.replace(UNPRINTABLE, ' ').replace(/\s+/g, ' ').trim();
  let out = '';
  let bytes = 0;
  for (const char of flat) {
    const piece = char === '%' ? '%%' : char;
    bytes += Buffer.byteLength(piece, 'utf8');
    if (bytes > DESCRIPTION_BUDGET) break;
    out += piece;
  }
  return out.replace(/[\s\\]+$/, '');
}

/** The container name used when a unit's `docker run` has no --name: `web@1.service` → `web-1`. */
export function containerNameForUnit(unitName: string): string {
  const { suffix } = unitNameParts(unitName);
  const base = suffix === '' ? unitName : unitName.slice(0, -(suffix.length + 1));
  const name = base.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return containerNameProblem(name) ? `unit-${name}` : name;
}

function asUnitSpecError(where: string, err: unknown): never {
  if (err instanceof DockerRunError || err instanceof ExecLineError) throw new UnitSpecError(`${where}: ${err.message}`);
  throw err;
}

/**
 * Unit options for a container: `[Unit] Description`, `[Service]` with
 * `ExecStartPre=-docker rm -f NAME`, `ExecStart=docker run ...`, `ExecStop=docker stop
 * NAME` and `Restart=`, and `[X-Fleet] MachineID` when given.
 */
export function renderContainerUnit(input: ContainerUnitInput): UnitOption[] {
  const { spec, machineId } = input;
  const nameProblem = containerNameProblem(spec.name);
  if (nameProblem) throw new UnitSpecError(nameProblem);
  if (machineId !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(machineId)) {
    throw new UnitSpecError(`invalid machine id "${machineId}"`);
  }
  let execStart: string;
  try {
    execStart = renderExecLine(renderDockerRun(spec));
  } catch (err) {
    return asUnitSpecError('ExecStart', err);
  }
  const options: UnitOption[] = [
    { section: 'Unit', name: 'Description', value: sanitizeDescription(input.description) },
    { section: 'Service', name: 'ExecStartPre', value: renderExecLine([DOCKER_BINARY, 'rm', '-f', spec.name], '-') },
    { section: 'Service', name: 'ExecStart', value: execStart },
    { section: 'Service', name: 'ExecStop', value: renderExecLine([DOCKER_BINARY, 'stop', spec.name]) },
    { section: 'Service', name: 'Restart', value: spec.restart === 'always' || spec.restart === 'unless-stopped' ? 'always' : 'no' },
  ];
  if (machineId !== undefined) options.push({ section: 'X-Fleet', name: 'MachineID', value: machineId });
  for (const option of options) {
    const problem = unitOptionProblem(option);
    if (problem) throw new UnitSpecError(problem);
  }
  return options;
}

/** Each exec directive's command lines, as systemd accumulates them (an empty value resets). */
function execLinesOf(service: readonly UnitOption[]): Map<string, string[]> {
  const lines = new Map<string, string[]>(EXEC_DIRECTIVES.map((name) => [name, []]));
  for (const option of service) {
    const list = lines.get(option.name);
    if (!list) continue;
    const value = joinContinuationLines(option.value);
    if (value === '') list.length = 0;
    else list.push(value);
  }
  return lines;
}

function parseCommand(directive: string, value: string, unitName: string): string[] {
  try {
    const line = parseExecLine(value, (word) => expandSpecifiers(word, unitName));
    const unsupported = [...line.prefixes].find((prefix) => prefix !== '-' && prefix !== ':');
    if (unsupported !== undefined) throw new UnitSpecError(`${directive}: the "${unsupported}" prefix is not supported`);
    return line.argv;
  } catch (err) {
    return asUnitSpecError(directive, err);
  }
}

/**
 * The ContainerSpec an operator-submitted unit describes. Requires exactly one
 * `ExecStart=/usr/bin/docker run ...` (specifiers %n %N %p %i expanded per word, as
 * systemd does); other Exec lines may only be docker kill/rm/stop/pull, and
 * kill/rm/stop must name the container. `Restart=` applies when docker's --restart
 * is absent. Without --name, the name comes from containerNameForUnit.
 */
export function containerSpecFromUnit(options: readonly UnitOption[], unitName: string): ContainerSpec {
  const nameProblem = unitNameProblem(unitName);
  if (nameProblem) throw new UnitSpecError(nameProblem);
  for (const option of options) {
    const problem = unitOptionProblem(option);
    if (problem) throw new UnitSpecError(problem);
  }
  const service = options.filter((option) => option.section === 'Service');
  const execLines = execLinesOf(service);
  const starts = execLines.get('ExecStart') ?? [];
  if (starts.length !== 1) throw new UnitSpecError(`a container unit needs exactly one ExecStart= (found ${starts.length})`);

  let parsed: ReturnType<typeof parseDockerRunDetailed>;
  try {
    parsed = parseDockerRunDetailed(parseCommand('ExecStart', starts[0], unitName));
  } catch (err) {
    return asUnitSpecError('ExecStart', err);
  }
  const { spec, restartGiven } = parsed;
  const namedContainer = spec.name;

  for (const [directive, values] of execLines) {
    if (directive === 'ExecStart') continue;
    for (const value of values) {
      let aux: ReturnType<typeof parseDockerAuxCommand>;
      try {
        aux = parseDockerAuxCommand(parseCommand(directive, value, unitName));
      } catch (err) {
        return asUnitSpecError(directive, err);
      }
      if (aux.action !== 'pull' && namedContainer !== '' && aux.target !== namedContainer) {
        throw new UnitSpecError(`${directive}: docker ${aux.action} "${aux.target}" is not this unit's container "${namedContainer}"`);
      }
    }
  }

  if (!restartGiven) {
    const restart = service.filter((option) => option.name === 'Restart').pop();
    if (restart) {
      const value = joinContinuationLines(restart.value);
      const policy = Object.prototype.hasOwnProperty.call(RESTART_POLICIES, value) ? RESTART_POLICIES[value] : undefined;
      if (policy === undefined) throw new UnitSpecError(`unsupported Restart=${value}`);
      spec.restart = policy;
    }
  }
  if (spec.name === '') spec.name = containerNameForUnit(unitName);
  return spec;
}

/**
 * Whether the unit's ExecStartPre removes its container (`docker rm [-f] NAME`, the usual first
 * line of a fleet unit). Under systemd every start then runs a fresh container from ExecStart's
 * `docker run`; BoatLoad's starts do the same. Lines that do not parse (refused at submission)
 * remove nothing.
 */
export function removesContainerBeforeStart(options: readonly UnitOption[], unitName: string): boolean {
  const lines = execLinesOf(options.filter((option) => option.section === 'Service')).get('ExecStartPre') ?? [];
  return lines.some((value) => {
    try {
      return parseDockerAuxCommand(parseCommand('ExecStartPre', value, unitName)).action === 'rm';
    } catch {
      return false;
    }
  });
}
