/**
 * Holds a satellite's GET /events open, hands each line to `onLine`, and reopens it after a failure.
 * `onLive(false)` whenever the feed is lost (or not yet ready): a reader must then not trust anything it
 * kept from the feed. A feed silent for three heartbeats is taken as lost (a cut network ends nothing).
 */
import type { Readable } from 'node:stream';
import { EVENT_HEARTBEAT_SECONDS, type EventFeedLine } from '../../common/satellite-protocol';
import { HttpError } from '../../common/errors';
import { textLines } from '../../common/json-lines';
import type { Logger } from '../../common/logger';

export interface EventFeedOptions {
  open: (signal: AbortSignal) => Promise<Readable>;
  onLine: (line: EventFeedLine) => void;
  onLive: (live: boolean) => void;
  label: string;
  logger?: Logger;
  /** First wait before reopening; doubles up to maxRetryMs while failures continue. */
  retryMs?: number;
  maxRetryMs?: number;
}

export class EventFeed {
  private running = false;
  private current: AbortController | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: EventFeedOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.current?.abort();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const first = this.options.retryMs ?? 1000;
    let retryMs = first;
    while (this.running) {
      const outcome = await this.follow();
      this.options.onLive(false);
      if (!this.running) break;
      if (outcome === 'unsupported') {
        this.options.logger?.warn(`${this.options.label} has no event feed (an older satellite); state reads go to the engine`);
        break;
      }
      if (outcome === 'followed') retryMs = first;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      retryMs = Math.min(retryMs * 2, this.options.maxRetryMs ?? 10_000);
    }
    this.running = false;
  }

  /** Follows one connection until it ends: 'followed' if it got ready, else why not. */
  private async follow(): Promise<'followed' | 'failed' | 'unsupported'> {
    const controller = new AbortController();
    this.current = controller;
    let watchdog: NodeJS.Timeout | null = null;
    const feedAlive = (): void => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), EVENT_HEARTBEAT_SECONDS * 3000);
    };
    let ready = false;
    try {
      feedAlive();
      const body = await this.options.open(controller.signal);
      for await (const text of textLines(body)) {
        feedAlive();
        const line = JSON.parse(text) as EventFeedLine;
        if ('ready' in line) {
          ready = true;
          this.options.onLive(true);
        }
        this.options.onLine(line);
      }
      return ready ? 'followed' : 'failed';
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return 'unsupported';
      return ready ? 'followed' : 'failed';
    } finally {
      if (watchdog) clearTimeout(watchdog);
      controller.abort();
      if (this.current === controller) this.current = null;
    }
  }
}
