/**
 * Results that warm members report themselves, for runs whose caller reads the result once (a
 * function invocation: POST /containers/:name/result).
 *
 * Docker quirk: the engine records a container's exit well after its process ends. Measured here,
 * an attach stream ends ~25 ms after a container's last output and `wait` returns ~50-80 ms after
 * that (the engine deletes the task, checkpoints the container and cleans it up before it sets the
 * state), so a result read through `wait` pays that on every invocation. A reporting member does not
 * wait for the engine: its output is read from an attach stream opened when the member was made
 * (before any run, so nothing of the run can be missed; the stream ends once the engine has copied
 * every byte the container wrote), and its exit code from the member's shell, which runs the script
 * as its child and writes `$?` on a FIFO only the shell holds (warm-members.ts).
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { RunResult } from '../common/satellite-protocol';
import { CappedBuffer, framesOf } from './output-capture';

/** How long a finished report waits for its reader before it is dropped. */
const UNCLAIMED_MS = 60_000;
/**
 * The most output that finished, unread reports may hold together. Each is capped by its take, but
 * a reader normally claims its report at once; when readers are gone (an API replica died between
 * take and read) the oldest reports are dropped past this, and those runs read the engine instead.
 */
export const MAX_UNCLAIMED_BYTES = 64 * 1024 * 1024;

export interface ReportedRun {
  result: RunResult;
  /** The cap its output was kept to: a reader asking for another cap reads the engine instead. */
  maxOutputBytes: number;
}

/**
 * A member's attach stream, opened when it was made. Until `capture` the frames are dropped (a
 * waiting member writes nothing); it must always be read, or the engine's copy of the container's
 * output (logs included) would stall behind it.
 */
export class AttachedOutput {
  private streams: { out: CappedBuffer; err: CappedBuffer } | null = null;
  /**
   * Resolves when the stream ends: true when the engine ended it (it has copied all the container's
   * output), false when it broke off (an error, a close without an end: the output may be short).
   */
  readonly ended: Promise<boolean>;

  constructor(private readonly source: Readable) {
    this.ended = this.read();
  }

  private async read(): Promise<boolean> {
    try {
      for await (const frame of framesOf(this.source)) if (this.streams) (frame.stream === 2 ? this.streams.err : this.streams.out).push(frame.payload);
      return true;
    } catch {
      // A premature close or an error of the connection.
      return false;
    }
  }

  /** Keeps what the container writes from now on, each stream up to `maxBytes`. */
  capture(maxBytes: number): { out: CappedBuffer; err: CappedBuffer } {
    this.streams = { out: new CappedBuffer(maxBytes), err: new CappedBuffer(maxBytes) };
    return this.streams;
  }

  close(): void {
    this.source.destroy();
  }
}

/**
 * The exit code the member's shell writes on its status FIFO (read end `fd`, opened non-blocking)
 * as `<nonce> <code>`: null when the FIFO closes without exactly that line (the container was
 * killed before the shell wrote it, or the script wrote on the FIFO too: through /proc/1/fd/5 it
 * can, but it cannot know the take's nonce).
 */
export function readStatus(fd: number, nonce: string): Promise<number | null> {
  return new Promise((resolve) => {
    let socket: Socket;
    try {
      // A quirk of Node: a FIFO is read as a pipe socket, not with fs reads (which fail with EAGAIN
      // on a non-blocking FIFO).
      socket = new Socket({ fd, readable: true, writable: false });
    } catch {
      closeSync(fd);
      resolve(null);
      return;
    }
    let text = '';
    socket.setEncoding('utf8');
    // Read to the end whatever comes (a writer never blocks on a full FIFO); only a short line counts.
    socket.on('data', (chunk: string) => {
      if (text.length <= 64) text += chunk;
    });
    socket.once('close', () => {
      const match = /^([0-9a-f]{32}) (\d{1,3})\n$/.exec(text);
      resolve(match && match[1] === nonce ? Number(match[2]) : null);
    });
    socket.once('error', () => undefined);
  });
}

export class WarmReports {
  private readonly runs = new Map<string, Promise<ReportedRun | null>>();
  private readonly listeners = new Map<string, Set<(run: Promise<ReportedRun | null>) => void>>();
  /** Finished reports nobody has claimed yet, oldest first, with the bytes each holds. */
  private readonly unclaimed = new Map<string, number>();
  private unclaimedBytes = 0;

  constructor(private readonly maxUnclaimedBytes = MAX_UNCLAIMED_BYTES) {}

  /** A member's run reports its result: readers of `name` get it once it has ended. */
  add(name: string, run: Promise<ReportedRun | null>): void {
    this.drop(name);
    this.runs.set(name, run);
    for (const listener of this.listeners.get(name) ?? []) listener(run);
    this.listeners.delete(name);
    const forget = (): void => {
      if (this.runs.get(name) === run) this.drop(name);
    };
    void run.then((reported) => {
      if (this.runs.get(name) !== run) return;
      if (reported) this.hold(name, Buffer.byteLength(reported.result.stdout) + Buffer.byteLength(reported.result.stderr));
      setTimeout(forget, UNCLAIMED_MS).unref();
    }, forget);
  }

  /** Counts a finished, unclaimed report against the cap, dropping the oldest past it. */
  private hold(name: string, bytes: number): void {
    this.unclaimed.set(name, bytes);
    this.unclaimedBytes += bytes;
    for (const oldest of this.unclaimed.keys()) {
      if (this.unclaimedBytes <= this.maxUnclaimedBytes) break;
      this.drop(oldest);
    }
  }

  private drop(name: string): void {
    this.runs.delete(name);
    this.unclaimedBytes -= this.unclaimed.get(name) ?? 0;
    this.unclaimed.delete(name);
  }

  /**
   * The reported result of `name`'s run, once it has ended; null when its report failed. Waits for
   * a run that has not reported yet (the reader may come before the take) until `signal` aborts:
   * then, or for a run that does not report, it never resolves. `onClaim`: called when this
   * reader has the run (its report may still be on its way).
   */
  wait(name: string, signal: AbortSignal, onClaim?: () => void): Promise<ReportedRun | null> {
    const claim = (run: Promise<ReportedRun | null>): Promise<ReportedRun | null> => {
      if (this.runs.get(name) === run) this.drop(name);
      onClaim?.();
      return run;
    };
    const known = this.runs.get(name);
    if (known) return claim(known);
    return new Promise((resolve) => {
      const listener = (run: Promise<ReportedRun | null>): void => {
        signal.removeEventListener('abort', stop);
        resolve(claim(run));
      };
      const stop = (): void => {
        const set = this.listeners.get(name);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(name);
      };
      if (signal.aborted) return;
      signal.addEventListener('abort', stop, { once: true });
      const set = this.listeners.get(name) ?? new Set();
      set.add(listener);
      this.listeners.set(name, set);
    });
  }
}
