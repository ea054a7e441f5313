/**
 * Progress on a terminal: a bar for transfers (cp, archive, script uploads) and a ticking line for
 * waits (a container starting, an operation finishing). Drawn on stderr only when stderr is a
 * terminal and the payload does not go to the same terminal; in a pipe or a file nothing is drawn.
 */
import { humanBytes } from './output';

/** Where progress is drawn: stderr, or nothing. */
export interface ProgressOptions {
  /** The payload goes to stdout (cp ... -, archive -o -): no bar when stdout is the terminal too. */
  toStdout?: boolean;
}

export function progressEnabled(options: ProgressOptions = {}): boolean {
  return Boolean(process.stderr.isTTY) && !(options.toStdout && process.stdout.isTTY);
}

const CLEAR_LINE = '\r\x1b[K';

/** A one-line bar, redrawn at most ten times a second; without a total, the bytes so far. */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private total: number | null,
    options: ProgressOptions = {},
  ) {
    this.enabled = progressEnabled(options);
  }

  /** Sets the count, and the total once it is known (for sources that report running totals). */
  set(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    this.add(done - this.done);
  }

  add(bytes: number): void {
    this.done += bytes;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw();
  }

  finish(): void {
    if (!this.enabled) return;
    this.draw();
    process.stderr.write('\n');
  }

  private draw(): void {
    const width = 30;
    let text: string;
    if (this.total && this.total > 0) {
      const ratio = Math.min(1, this.done / this.total);
      const filled = Math.round(ratio * width);
      text = `${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(ratio * 100)}% ${humanBytes(this.done)}/${humanBytes(this.total)}`;
    } else {
      text = `${this.label} ${humanBytes(this.done)}`;
    }
    process.stderr.write(`${CLEAR_LINE}${text}`);
  }
}

const SPINNER = ['|', '/', '-', '\\'];

/**
 * "Starting container 3f2a... 4s": drawn at once and then every quarter second until stop(),
 * which clears the line (or leaves a last word on it).
 */
export class Waiting {
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(private readonly label: string) {
    this.enabled = progressEnabled();
    if (!this.enabled) return;
    this.draw();
    this.timer = setInterval(() => this.draw(), 250);
    // A wait line never keeps the command alive.
    this.timer.unref();
  }

  /** Ends the line: cleared, or replaced by `last` (e.g. "stopped"). Safe to call twice. */
  stop(last?: string): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    process.stderr.write(last ? `${CLEAR_LINE}${this.label} ${last}\n` : CLEAR_LINE);
  }

  private draw(): void {
    const seconds = Math.floor((Date.now() - this.started) / 1000);
    process.stderr.write(`${CLEAR_LINE}${this.label}... ${SPINNER[this.frame++ % SPINNER.length]} ${seconds}s`);
  }
}
