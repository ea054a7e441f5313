/**
 * Work inside a container on this host's engine: synchronous execs (with a hard timeout and an
 * output cap), readiness probes, live output as Server-Sent Events resumable by timestamp, and
 * interactive terminals (a TTY exec bridged to a WebSocket).
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { WebSocket } from 'ws';
import { ConflictError, ValidationError } from '../common/errors';
import type { Logger } from '../common/logger';
import {
  EXEC_TAG_ENV,
  type ExecRequest,
  type ExecResult,
  type RunResult,
  type RunResultRequest,
  type TerminalClientMessage,
} from '../common/satellite-protocol';
import { nanosToRfc3339, nanosToUnixSeconds, rfc3339ToNanos } from '../common/timestamps';
import { sendJson, sendWithFlow } from '../common/ws-flow';
import { containerState, engineError } from './engine-errors';
import { dialLogs } from './engine-logs';
import { CappedBuffer, framesOf } from './output-capture';
import type { WarmReports } from './warm-reports';

export interface ContainerSessionsOptions {
  docker: Docker;
  logger: Logger;
  /** Results that warm members report themselves (absent: every result is read from the engine). */
  reports?: WarmReports;
}

export interface OutputStreamRequest {
  /** Only output at or after this instant (nanoseconds); null: from the start. */
  since: bigint | null;
  /** Only output strictly after `since` (a resumed stream: the client has that event). */
  exclusive: boolean;
  signal: AbortSignal;
}

export interface TerminalRequest {
  cmd: string[];
  cols?: number;
  rows?: number;
  user?: string;
  workdir?: string;
}

const ENGINE_STREAMS: Record<number, 'stdout' | 'stderr'> = { 1: 'stdout', 2: 'stderr' };

/** One Server-Sent Event; `data` may span lines (each becomes a `data:` line). */
export function sseEvent(event: string, id: string, data: string): string {
  const lines = data.replace(/\r?\n$/, '').split(/\r\n|\r|\n/);
  return `id: ${id}\nevent: ${event}\n${lines.map((line) => `data: ${line}`).join('\n')}\n\n`;
}

/** Waits `ms`, or less if the signal aborts. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

function envList(env: Record<string, string>, tag: string): string[] {
  return [...Object.entries(env).map(([key, value]) => `${key}=${value}`), `${EXEC_TAG_ENV}=${tag}`];
}

/** How long a refused start may still be followed by the engine's own second start (RefusedStart). */
const START_RETRY_MS = 5000;

/**
 * Whether a container left created by a refused start has ended. Docker quirk (Swarm): a node
 * removes its copy of an overlay when its last container on it goes, and a task's container that
 * lands meanwhile fails its first start with "network <id> not found"; the node's executor then
 * makes the networks again and starts the container once more, which runs the script. Until then
 * the container is created, with that error. Such a refusal is final only START_RETRY_MS after this
 * tracker first saw it (its reader's own deadline may end the wait sooner); any other is final at
 * once. One per reader of one container.
 */
class RefusedStart {
  private since: number | undefined;

  isFinal(error: string): boolean {
    if (!/\bnetwork \S+ not found\b/.test(error)) return true;
    this.since ??= Date.now();
    return Date.now() - this.since >= START_RETRY_MS;
  }
}

export class ContainerSessions {
  constructor(private readonly options: ContainerSessionsOptions) {}

  private container(name: string): Docker.Container {
    return this.options.docker.getContainer(name);
  }

  /** The container's engine state; 404 when it does not exist. */
  private state(name: string): Promise<Docker.ContainerInspectInfo['State']> {
    return containerState(this.options.docker, name);
  }

  private async requireRunning(name: string): Promise<void> {
    const state = await this.state(name);
    if (!state.Running || state.Paused || state.Restarting) {
      throw new ConflictError(`The container is not running (engine state: ${state.Paused ? 'paused' : state.Status}).`);
    }
  }

  private async createExec(name: string, options: Docker.ExecCreateOptions): Promise<Docker.Exec> {
    try {
      return await this.container(name).exec(options);
    } catch (err) {
      throw engineError(err, `container ${name}`);
    }
  }

  /**
   * Docker quirk: the attach stream can end a moment before the engine records the exit code, so
   * poll the exec until it is no longer running.
   */
  private async exitCodeOf(exec: Docker.Exec): Promise<number | null> {
    for (let attempt = 0; ; attempt++) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode ?? null;
      if (attempt >= 40) return null;
      await sleep(50);
    }
  }

  /**
   * Waits for the container's run to end (or `timeoutMs`) and answers its exit code and capped
   * output in one call: what a function invocation needs, without following and polling. A warm
   * member that reports its run (warm-reports.ts) answers as soon as its report is complete; the
   * engine's answer is the same, later.
   */
  async result(name: string, request: RunResultRequest): Promise<RunResult> {
    const deadline = Date.now() + request.timeoutMs;
    const settled = new AbortController();
    try {
      const engine = this.engineResult(name, request, deadline, settled.signal);
      const reports = this.options.reports;
      if (!reports) return await engine;
      // A report that came in time, for the cap asked: the answer. (Past the deadline the engine's
      // side answers timed_out, as it would have.)
      let claimed = false;
      const reported = reports.wait(name, settled.signal, () => (claimed = true)).then((run) => (run !== null && run.maxOutputBytes === request.maxOutputBytes && Date.now() <= deadline ? run.result : null));
      const first = await Promise.race([reported.then((result) => ({ result })), engine.then((result) => ({ result }), (error: unknown) => ({ error }))]);
      if ('error' in first) {
        // The engine's side failed (the container went, say): a report on its way still answers.
        const report = claimed ? await reported : null;
        if (report) return report;
        throw first.error;
      }
      if (first.result) return first.result;
      // No report after all (killed first, another cap): the engine's side answers.
      return await engine;
    } finally {
      settled.abort();
    }
  }

  /** The run's result as the engine records it: its exit once `wait` returns, then its logs. */
  private async engineResult(name: string, request: RunResultRequest, deadline: number, abandoned: AbortSignal): Promise<RunResult> {
    const container = this.container(name);
    let exitCode: number | null = null;
    let startError = '';
    const refusal = new RefusedStart();
    let refused = '';
    for (;;) {
      if (abandoned.aborted) throw new Error('abandoned');
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const waited = AbortSignal.any([abandoned, AbortSignal.timeout(remaining)]);
      try {
        // Docker quirk: `not-running` answers at once for a container created and not started yet
        // (a cold run whose start is under way): look again until it has run.
        await container.wait({ condition: 'not-running', abortSignal: waited });
      } catch (err) {
        if (!waited.aborted) throw engineError(err, `container ${name}`);
      }
      if (abandoned.aborted) throw new Error('abandoned');
      const state = await this.state(name);
      // Still refused when the deadline comes: the refusal answers, not a timeout.
      refused = state.Status === 'created' ? state.Error : '';
      if (state.Status === 'exited' || state.Status === 'dead') {
        exitCode = state.ExitCode;
        break;
      }
      // A start the engine refused leaves the container created, with the reason.
      if (state.Status === 'created' && state.Error) {
        if (!refusal.isFinal(state.Error)) {
          await sleep(50, abandoned);
          continue;
        }
        startError = state.Error;
        break;
      }
      if (state.Status === 'created') await sleep(5, abandoned);
    }
    if (exitCode === null && !startError && refused) startError = refused;
    if (abandoned.aborted) throw new Error('abandoned');
    const out = new CappedBuffer(request.maxOutputBytes);
    const err = new CappedBuffer(request.maxOutputBytes);
    // Streamed, never buffered whole: only the capped head of each stream is kept.
    const logs = await dialLogs(this.options.docker, name, { stdout: true, stderr: true, follow: false });
    const stop = (): void => void logs.destroy();
    abandoned.addEventListener('abort', stop, { once: true });
    try {
      for await (const frame of framesOf(logs)) (frame.stream === 2 ? err : out).push(frame.payload);
    } finally {
      abandoned.removeEventListener('abort', stop);
    }
    if (abandoned.aborted) throw new Error('abandoned');
    if (startError) err.push(Buffer.from(`${startError}\n`));
    return { exit_code: exitCode, stdout: out.text(), stderr: err.text(), truncated: out.overflowed || err.overflowed, timed_out: exitCode === null && !startError };
  }

  /** Runs a command to its end (or its timeout) and returns its capped output. */
  async exec(name: string, request: ExecRequest): Promise<ExecResult> {
    if (!Array.isArray(request.cmd) || request.cmd.length === 0) throw ValidationError.field('cmd', 'A command is required.');
    if (request.stdinBase64 !== undefined && typeof request.stdinBase64 !== 'string') throw ValidationError.field('stdinBase64', 'Must be base64.');
    const stdin = request.stdinBase64 === undefined ? null : Buffer.from(request.stdinBase64, 'base64');
    await this.requireRunning(name);
    const tag = randomBytes(12).toString('hex');
    const exec = await this.createExec(name, {
      Cmd: request.cmd,
      Env: envList(request.env ?? {}, tag),
      WorkingDir: request.workdir,
      User: request.user,
      AttachStdin: stdin !== null,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const started = Date.now();
    let raw: Readable;
    try {
      // Docker quirk: stdin needs the hijacked connection; ending our side of it is the command's EOF.
      raw = stdin === null ? await exec.start({ Detach: false, Tty: false }) : await exec.start({ Detach: false, Tty: false, hijack: true, stdin: true });
    } catch (err) {
      throw engineError(err, `exec in ${name}`);
    }
    if (stdin !== null) {
      const duplex = raw as unknown as Duplex;
      // A command that exits without reading all of it closes the pipe: not an error of the exec.
      duplex.on('error', () => undefined);
      duplex.end(stdin);
    }
    const out = new CappedBuffer(request.maxOutputBytes);
    const err = new CappedBuffer(request.maxOutputBytes);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill(name, exec, tag)
        .catch((e: Error) => this.options.logger.warn(`killing timed-out exec in ${name}: ${e.message}`))
        // If nothing could kill it, stop waiting for it.
        .finally(() => setTimeout(() => raw.destroy(), 5000).unref());
    }, request.timeoutMs);
    try {
      // Output over the cap is read and dropped, so the command never blocks on a full pipe.
      for await (const frame of framesOf(raw)) (frame.stream === 2 ? err : out).push(frame.payload);
    } catch {
      // The stream was cut (a kill that left it open); what was read is the answer.
    } finally {
      clearTimeout(timer);
    }
    const exitCode = await this.exitCodeOf(exec);
    let stdout = out.text();
    let stderr = err.text();
    // Docker quirk: a command that cannot be started (missing binary, unknown user) exits 126 with
    // the runtime's reason on stdout; it belongs on stderr.
    if (exitCode === 126 && stderr === '' && /^(OCI runtime exec failed|unable to find user)/.test(stdout)) [stdout, stderr] = ['', stdout];
    return {
      exit_code: exitCode,
      stdout,
      stderr,
      duration_ms: Date.now() - started,
      truncated: out.overflowed || err.overflowed,
      timed_out: timedOut,
    };
  }

  /**
   * Docker quirk: the engine cannot kill an exec. Every exec carries a random tag in its
   * environment (inherited by its children), so a second exec, as root, kills each process
   * whose environment holds the tag. Images without /bin/sh fall back to the exec's host pid,
   * which works when this satellite shares the host's pid namespace.
   */
  async kill(name: string, exec: Docker.Exec, tag: string): Promise<void> {
    const script = `for p in /proc/[0-9]*; do if tr '\\000' '\\n' < "$p/environ" 2>/dev/null | grep -qx '${EXEC_TAG_ENV}=${tag}'; then kill -9 "\${p#/proc/}" 2>/dev/null; fi; done`;
    try {
      const killer = await this.createExec(name, { Cmd: ['/bin/sh', '-c', script], User: '0', AttachStdout: true, AttachStderr: true });
      const stream = (await killer.start({ Detach: false, Tty: false })) as unknown as Readable;
      stream.resume();
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        stream.once('end', done).once('close', done).once('error', done);
        setTimeout(done, 10000).unref();
      });
    } catch (err) {
      this.options.logger.debug(`tag kill in ${name} failed: ${(err as Error).message}`);
    }
    const info = await exec.inspect().catch(() => null);
    if (info?.Running && info.Pid > 0) {
      try {
        process.kill(info.Pid, 'SIGKILL');
      } catch (err) {
        this.options.logger.warn(`exec in ${name} outlived its timeout and its host pid ${info.Pid} cannot be killed: ${(err as Error).message}`);
      }
    }
  }

  /** Whether a trivial exec succeeds: the container is running and exec-able. */
  async probe(name: string): Promise<{ ready: boolean; reason: string | null }> {
    let result: ExecResult;
    try {
      result = await this.exec(name, { cmd: ['true'], env: {}, timeoutMs: 5000, maxOutputBytes: 4096 });
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    }
    // 126/127: the image has no `true`, but the runtime could exec into the container.
    if (result.exit_code === 0 || result.exit_code === 126 || result.exit_code === 127) return { ready: true, reason: null };
    return { ready: false, reason: result.timed_out ? 'the probe exec timed out' : `the probe exec exited with ${result.exit_code}` };
  }

  private followLogs(name: string, since: bigint | null): Promise<Readable> {
    return dialLogs(this.options.docker, name, { stdout: true, stderr: true, follow: true, timestamps: true, ...(since !== null ? { since: nanosToUnixSeconds(since) } : {}) });
  }

  /**
   * The container's output as Server-Sent Events (`stdout`, `stderr`, then one `exit`), each
   * with its engine timestamp as id. Follows the container across restarts and waits while it
   * has not started yet; ends after the exit event, or when the signal aborts.
   */
  async *outputEvents(name: string, request: OutputStreamRequest): AsyncGenerator<string> {
    const { signal } = request;
    let last = request.since;
    let exclusive = request.exclusive;
    const refusal = new RefusedStart();
    await this.state(name);
    yield `: output of ${name}\n\n`;
    while (!signal.aborted) {
      const raw = await this.followLogs(name, last);
      const onAbort = (): void => {
        raw.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const frame of framesOf(raw)) {
          // With timestamps=true every frame is one log line: "<RFC 3339, 9 digits> <text>".
          const text = frame.payload.toString('utf8');
          const space = text.indexOf(' ');
          const at = space > 0 ? rfc3339ToNanos(text.slice(0, space)) : null;
          const stream = ENGINE_STREAMS[frame.stream];
          if (at === null || !stream) continue;
          if (last !== null && (exclusive ? at <= last : at < last)) continue;
          last = at;
          exclusive = true;
          yield sseEvent(stream, nanosToRfc3339(at), text.slice(space + 1));
        }
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        raw.destroy();
      }
      if (signal.aborted) return;
      const state = await this.state(name);
      const notStartedYet = state.Status === 'created' && (!state.Error || !refusal.isFinal(state.Error));
      if (state.Running || state.Restarting || notStartedYet) {
        await sleep(250, signal);
        continue;
      }
      let at = rfc3339ToNanos(state.FinishedAt) ?? 0n;
      if (last !== null && at < last) at = last;
      if (at <= 0n) at = BigInt(Date.now()) * 1_000_000n;
      yield sseEvent('exit', nanosToRfc3339(at), JSON.stringify({ exit_code: state.ExitCode, error: state.Error || null, finished_at: state.FinishedAt }));
      return;
    }
  }

  /** Checks a terminal can be opened (a refusal is still an HTTP answer) and creates its exec. */
  async prepareTerminal(name: string, request: TerminalRequest): Promise<{ exec: Docker.Exec; tag: string }> {
    await this.requireRunning(name);
    const tag = randomBytes(12).toString('hex');
    const exec = await this.createExec(name, {
      Cmd: request.cmd,
      Env: envList({ TERM: 'xterm-256color' }, tag),
      User: request.user,
      WorkingDir: request.workdir,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
    });
    return { exec, tag };
  }

  /**
   * Bridges a TTY exec and a WebSocket (message format in common/satellite-protocol.ts): the
   * exec's output becomes `output` messages (the TTY merges stderr into it), `stdin` messages and
   * binary frames become its input, `resize` resizes its TTY; its end becomes `exit`.
   */
  async runTerminal(name: string, ws: WebSocket, prepared: { exec: Docker.Exec; tag: string }, size: { cols?: number; rows?: number }): Promise<void> {
    const { exec, tag } = prepared;
    // Messages may arrive before the exec has started: hold them until it has.
    const early: Array<{ data: Buffer; isBinary: boolean }> = [];
    let onMessage: ((data: Buffer, isBinary: boolean) => void) | null = null;
    ws.on('message', (data: Buffer, isBinary: boolean) => (onMessage ? onMessage(data, isBinary) : early.push({ data, isBinary })));
    let clientGone = false;
    let stream: Duplex | null = null;
    ws.on('close', () => {
      clientGone = true;
      stream?.end();
      // A shell whose client left is not left behind.
      setTimeout(() => {
        exec
          .inspect()
          .then((info) => (info.Running ? this.kill(name, exec, tag) : undefined))
          .catch(() => undefined)
          .finally(() => stream?.destroy());
      }, 1000).unref();
    });
    try {
      stream = await exec.start({ hijack: true, stdin: true, Detach: false, Tty: true });
    } catch (err) {
      sendJson(ws, { type: 'error', detail: engineError(err, `exec in ${name}`).message });
      ws.close(1011, 'exec failed');
      return;
    }
    const tty = stream;
    if (clientGone) tty.end();
    const resize = async (cols: number, rows: number): Promise<void> => {
      // Docker quirk: a resize right after start can race the process; retry briefly.
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await exec.resize({ w: cols, h: rows });
          return;
        } catch {
          await sleep(50);
        }
      }
    };
    if (size.cols && size.rows) void resize(size.cols, size.rows);

    const decoder = new StringDecoder('utf8');
    tty.on('data', (chunk: Buffer) => {
      const data = decoder.write(chunk);
      if (data) sendWithFlow(ws, tty, JSON.stringify({ type: 'output', data }));
    });
    const write = (data: Buffer | string): void => {
      if (!tty.write(data)) {
        ws.pause();
        tty.once('drain', () => ws.resume());
      }
    };
    onMessage = (data, isBinary) => {
      if (isBinary) return write(data);
      let message: TerminalClientMessage;
      try {
        message = JSON.parse(data.toString('utf8')) as TerminalClientMessage;
      } catch {
        sendJson(ws, { type: 'error', detail: 'Messages are JSON: {"type":"stdin","data":"..."} or {"type":"resize","cols":N,"rows":N}.' });
        return;
      }
      if (message.type === 'stdin' && typeof message.data === 'string') {
        write(message.data);
      } else if (message.type === 'resize' && [message.cols, message.rows].every((n) => Number.isInteger(n) && n > 0 && n <= 1000)) {
        void resize(message.cols, message.rows);
      } else {
        sendJson(ws, { type: 'error', detail: 'Unknown message: use stdin or resize.' });
      }
    };
    for (const message of early.splice(0)) onMessage(message.data, message.isBinary);

    await new Promise<void>((resolve) => {
      tty.once('end', resolve).once('close', resolve).once('error', resolve);
    });
    if (clientGone) return;
    const rest = decoder.end();
    if (rest) sendJson(ws, { type: 'output', data: rest });
    const exitCode = await this.exitCodeOf(exec).catch(() => null);
    sendJson(ws, { type: 'exit', exit_code: exitCode });
    ws.close(1000, 'exited');
  }
}
