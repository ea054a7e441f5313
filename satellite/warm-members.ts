/**
 * Warm pool members on this host: containers created and started ahead of a run, each blocked in a
 * waiter that prints nothing and writes nothing. A take stages the run's script and makes the run's
 * command the container's PID 1 (`exec`), with the run's arguments and variables exactly: what the
 * run then shows (output, exit code, changes) is the script's alone.
 *
 * The member's directory `<scripts>/<name>/` is bind-mounted read-only at SCRIPT_DIR and holds three
 * FIFOs until the take. The waiter (`/bin/sh` and `cat` from the image):
 *
 *     exec 4<>/boatload/.ready 5<>/boatload/.status; eval "$(cat /boatload/.go)"
 *
 * A take opens `.ready` and `.go` (a reader on each proves the waiter is waiting), unlinks the
 * FIFOs (the run sees only its script), writes the script, sends the launch text on `.go`, then one
 * line on `.ready`: the launch text waits for that line, closes fds 4 and 5, undoes what sh added to
 * the environment, exports the run's variables and execs the script with its arguments.
 *
 * A take that asks for a report (a function invocation, whose result is read once: warm-reports.ts)
 * keeps the read end of `.status` and the member's attach stream (opened when the member was made),
 * and its launch text runs the script as the shell's child with fd 5 closed, then writes the exit
 * code on fd 5 and exits with it. So the script is not PID 1 in a reporting run (documented: `$$`
 * is not 1, and a signal the script sends itself is not ignored as PID 1 would ignore it).
 */
import type Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { close as closeFdCallback, open as openFdCallback } from 'node:fs';
import { constants, type FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerSpec } from '../common/container-spec';
import { BadRequestError, ConflictError, ValidationError } from '../common/errors';
import { WARM_HOLDING } from '../common/network-model';
import { CONTAINER_NAME, SCRIPT_DIR, STDIN_PATH, type ContainerInspection, type HostMemory, type WarmNetwork, type WarmTakeRequest } from '../common/satellite-protocol';
import { engineCreateOptions, type LogLimits } from './engine-options';
import { engineError, engineMessage, isEngineNotFound } from './engine-errors';
import type { HostEngine } from './host-engine';
import type { WarmNetworks } from './warm-networks';
import { AttachedOutput, readStatus, WarmReports } from './warm-reports';
import type { Readable } from 'node:stream';

const GO = '.go';
const READY = '.ready';
const STATUS = '.status';
const WAITER = `exec 4<>${SCRIPT_DIR}/${READY} 5<>${SCRIPT_DIR}/${STATUS}; eval "$(cat ${SCRIPT_DIR}/${GO})"`;
/** Variables busybox/dash sh sets or exports on its own; the launch text restores the member's values. */
const SHELL_VARIABLES = ['OLDPWD', 'PWD', 'SHLVL'];
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const SCRIPT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
/** How long a take waits for a member's waiter to reach its FIFOs (a member started a moment ago). */
const WAITER_WAIT = { totalMs: 2000, stepMs: 2 };

const openFd = promisify(openFdCallback);
const closeFd = promisify(closeFdCallback);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A POSIX sh word that is exactly `value` (single quotes; a quote becomes '\''). */
export const shellWord = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export interface WarmMembersOptions {
  docker: Docker;
  engine: HostEngine;
  /** The satellite's script directory (SATELLITE_SCRIPT_DIR): the members' FIFOs and scripts live there. */
  scriptDir: string;
  logLimits: LogLimits;
  /** The holding network and the take's joins; without it a template naming WARM_HOLDING is refused. */
  networks?: WarmNetworks;
}

export class WarmMembers {
  /** Where reporting runs leave their results, for the result route (container-sessions.ts). */
  readonly reports = new WarmReports();
  /** Per member: the launch text's first lines, restoring the member's own values of SHELL_VARIABLES. */
  private readonly restores = new Map<string, string>();
  /**
   * Per member: its inspection once started. A take answers it without asking the engine again:
   * the script replaces the waiter by exec, so the process, its pid and its start time stay the same.
   */
  private readonly started = new Map<string, ContainerInspection>();
  /** Per member made by this satellite: its attach stream, for a run that reports (warm-reports.ts). */
  private readonly attached = new Map<string, AttachedOutput>();

  constructor(private readonly options: WarmMembersOptions) {}

  private dirOf(name: string): string {
    if (!CONTAINER_NAME.test(name)) throw new BadRequestError('Invalid name.');
    return join(this.options.scriptDir, name);
  }

  /** Creates and starts a member from `spec` (its command becomes the waiter); answers its inspection. */
  async create(spec: ContainerSpec): Promise<ContainerInspection> {
    const { docker } = this.options;
    const image = await docker
      .getImage(spec.image)
      .inspect()
      .catch((err: unknown) => {
        if (isEngineNotFound(err)) throw ValidationError.field('image', `Image "${spec.image}" is not present on this host.`);
        throw engineError(err, 'image inspect');
      });
    // The run's command is the image's entrypoint plus the script when cold; a waiter cannot be that.
    if ((image.Config.Entrypoint ?? []).length > 0) throw ValidationError.field('image', `Image "${spec.image}" has an entrypoint: it cannot be pooled.`);
    let network = spec.network;
    if (network === WARM_HOLDING) {
      if (!this.options.networks) throw ValidationError.field('spec', 'This satellite keeps no holding network: members for private and internet runs cannot be made here.');
      network = await this.options.networks.ensureHolding(spec.labels);
    }
    const dir = this.dirOf(spec.name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await promisify(execFile)('mkfifo', ['-m', '0600', join(dir, GO), join(dir, READY), join(dir, STATUS)]);
    const options = engineCreateOptions({ ...spec, network, cmd: ['/bin/sh', '-c', WAITER] }, this.options.logLimits);
    options.HostConfig = { ...options.HostConfig, Mounts: [{ Type: 'bind', Source: dir, Target: SCRIPT_DIR, ReadOnly: true }] };
    let container: Docker.Container | null = null;
    try {
      container = await docker.createContainer(options);
      // Attached before the start, so no byte the container ever writes can be missed.
      this.attach(spec.name, await container.attach({ stream: true, stdout: true, stderr: true, logs: false }));
      await container.start();
      const info = await container.inspect();
      this.restores.set(spec.name, restoreLines(info.Config.Env ?? []));
      if (info.State.Running) this.started.set(spec.name, await this.options.engine.inspect(spec.name));
    } catch (err) {
      this.attached.get(spec.name)?.close();
      await container?.remove({ force: true }).catch(() => undefined);
      await this.options.engine.remove(spec.name).catch(() => undefined);
      if ((err as { statusCode?: number }).statusCode === 400) throw ValidationError.field('spec', engineMessage(err));
      throw engineError(err, 'warm member create');
    }
    return this.started.get(spec.name) ?? this.options.engine.inspect(spec.name);
  }

  /** Stages the run's script and starts it in member `name`; answers the inspection after that. */
  async take(name: string, request: WarmTakeRequest): Promise<ContainerInspection> {
    const scriptName = posix.basename(request.script.path);
    if (request.script.path !== posix.join(SCRIPT_DIR, scriptName) || !SCRIPT_NAME.test(scriptName)) throw new BadRequestError(`The script must be at ${SCRIPT_DIR}/<name>.`);
    const stdinBase64: unknown = request.script.stdinBase64;
    if (stdinBase64 !== undefined && (typeof stdinBase64 !== 'string' || request.script.path === STDIN_PATH)) throw new BadRequestError('stdin must be base64, beside a script of another name.');
    if (!Array.isArray(request.args) || request.args.some((a) => typeof a !== 'string' || a.includes('\0'))) throw new BadRequestError('args must be strings without NUL.');
    const env = Object.entries(request.env ?? {});
    if (env.some(([key, value]) => !ENV_KEY.test(key) || typeof value !== 'string' || value.includes('\0'))) throw new BadRequestError('Invalid env.');
    const networks: unknown = request.networks ?? [];
    if (!Array.isArray(networks)) throw new BadRequestError('networks must be a list.');
    if (networks.length > 0 && !this.options.networks) throw new BadRequestError('This satellite keeps no holding network: a member cannot join networks here.');
    const joins = networks.length > 0 ? (this.options.networks?.check(networks as WarmNetwork[]) ?? null) : null;
    const report = reportOf(request);
    const dir = this.dirOf(name);
    const restore = this.restores.get(name) ?? (await this.inspectRestore(name));
    const ready = await openWaitingFifo(join(dir, READY));
    let go: FileHandle | null = null;
    const output = this.attached.get(name);
    this.attached.delete(name);
    // A plain descriptor, not a FileHandle: the status reader's socket takes it over (a FileHandle would close it when collected).
    let status: number | null = null;
    try {
      const probe = await openWaitingFifo(join(dir, GO));
      // A blocking descriptor for the launch text (it may be larger than the pipe); the open does
      // not block: the probe showed a reader.
      go = await open(join(dir, GO), constants.O_WRONLY).finally(() => probe.close());
      // The owner's networks before anything of the run is staged: a join that fails leaves the
      // member unused (the pool removes it; the run starts cold).
      if (joins) await this.options.networks?.join(name, joins, request.overlays === true);
      // A member of an earlier satellite has no `.status` (and no attach stream): it runs without a report.
      if (report && output) status = await openFd(join(dir, STATUS), constants.O_RDONLY | constants.O_NONBLOCK).catch(() => null);
      await Promise.all([unlink(join(dir, GO)), unlink(join(dir, READY)), unlink(join(dir, STATUS)).catch(() => undefined)]);
      await writeFile(join(dir, scriptName), Buffer.from(request.script.contentBase64, 'base64'), { mode: 0o755 });
      const stdin = request.script.stdinBase64;
      if (stdin !== undefined) await writeFile(join(dir, posix.basename(STDIN_PATH)), Buffer.from(stdin, 'base64'), { mode: 0o644 });
      const exported = env.map(([key, value]) => `export ${key}=${shellWord(value)}`).join('\n');
      const command = [request.script.path, ...request.args].map(shellWord).join(' ') + (stdin !== undefined ? ` <${STDIN_PATH}` : '');
      const reporting = report !== null && output !== undefined && status !== null;
      // The status line starts with a nonce of this take: a script cannot write one that counts.
      const nonce = randomBytes(16).toString('hex');
      await go.writeFile(launchText({ restore, exported, command, reportNonce: reporting ? nonce : null }));
      await go.close();
      go = null;
      if (reporting && status !== null) {
        const streams = output.capture(report.maxOutputBytes);
        const exited = readStatus(status, nonce);
        // The FIFO's descriptor now belongs to the status reader (it closes it).
        status = null;
        this.reports.add(
          name,
          Promise.all([exited, output.ended]).then(([exitCode, complete]) =>
            // No status (killed first), or an attach stream that broke off: the engine answers.
            exitCode === null || !complete
              ? null
              : {
                  result: { exit_code: exitCode, stdout: streams.out.text(), stderr: streams.err.text(), truncated: streams.out.overflowed || streams.err.overflowed, timed_out: false },
                  maxOutputBytes: report.maxOutputBytes,
                },
          ),
        );
      } else {
        output?.close();
      }
      await ready.write('\n');
    } catch (err) {
      output?.close();
      throw err;
    } finally {
      await go?.close();
      if (status !== null) await closeFd(status).catch(() => undefined);
      await ready.close();
    }
    this.restores.delete(name);
    const started = this.started.get(name);
    this.started.delete(name);
    return started ?? this.options.engine.inspect(name);
  }

  /** Keeps a new member's attach stream until its take (it goes when the member does). */
  private attach(name: string, stream: NodeJS.ReadableStream): void {
    const output = new AttachedOutput(stream as Readable);
    this.attached.set(name, output);
    void output.ended.then(() => {
      if (this.attached.get(name) === output) this.attached.delete(name);
    });
  }

  private async inspectRestore(name: string): Promise<string> {
    try {
      const info = await this.options.docker.getContainer(name).inspect();
      return restoreLines(info.Config.Env ?? []);
    } catch (err) {
      throw engineError(err, `container ${name}`);
    }
  }

  /** The host's available memory (MemAvailable), for the pool to shrink when it is short. */
  static async hostMemory(): Promise<HostMemory> {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
    return { availableBytes: match ? Number(match[1]) * 1024 : 0 };
  }
}

/**
 * What the waiter evals at a take: wait for the go line, drop the waiter's descriptors, set the
 * run's variables, run the command. Without a report the command replaces the shell (PID 1). With
 * one, the command is the shell's child (a subshell that execs it, without fd 5) and the shell writes
 * `<nonce> <exit code>` on fd 5, then exits with that code. The shell's own stderr is /dev/null
 * meanwhile (the script's is the container's, kept on fd 7): sh prints "Killed" there for a child
 * killed by a signal, which a cold run never shows. (A redirection of the command itself would not
 * do: sh applies it to itself until the command ends.)
 */
export function launchText(input: { restore: string; exported: string; command: string; reportNonce: string | null }): string {
  const { restore, exported, command, reportNonce } = input;
  const run =
    reportNonce === null
      ? `exec 5<&-\nexec ${command}`
      : `exec 7>&2 2>/dev/null\n(exec 2>&7 7>&- 5>&-; exec ${command})\nset -- "$?"\necho "${reportNonce} $1" >&5\nexit "$1"`;
  return `read -r _ <&4\nexec 4<&-\n${restore}\n${exported}\n${run}\n`;
}

/** The report a take asks for, checked (null: none). */
function reportOf(request: WarmTakeRequest): { maxOutputBytes: number } | null {
  const report: unknown = request.report;
  if (report === undefined) return null;
  const max = typeof report === 'object' && report !== null ? (report as Record<string, unknown>).maxOutputBytes : undefined;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) throw new BadRequestError('report.maxOutputBytes must be a whole number of bytes.');
  return { maxOutputBytes: max };
}

/** Lines that give SHELL_VARIABLES the member's values (unset when the member has none). */
function restoreLines(env: string[]): string {
  const values = new Map(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  return SHELL_VARIABLES.map((key) => (values.has(key) ? `export ${key}=${shellWord(values.get(key) as string)}` : `unset ${key}`)).join('\n');
}

/** Opens a FIFO for writing without blocking, waiting a moment for its reader (ENXIO: none yet). */
async function openWaitingFifo(path: string): Promise<FileHandle> {
  for (let waited = 0; ; waited += WAITER_WAIT.stepMs) {
    try {
      return await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ConflictError('This warm member was taken already.');
      if (code !== 'ENXIO' || waited >= WAITER_WAIT.totalMs) throw new ConflictError('This warm member is not waiting.');
      await sleep(WAITER_WAIT.stepMs);
    }
  }
}
