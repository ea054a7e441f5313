/**
 * The engine's container events, as the satellite passes them on (GET /events): one JSON object
 * per line. The API keeps inspections cached while it holds this feed, and drops a container's entry
 * when an event names it, so a state read need not cross to the engine at all.
 */
import type Docker from 'dockerode';
import { textLines } from '../common/json-lines';
import { EVENT_HEARTBEAT_SECONDS, type ContainerEvent, type EventFeedLine } from '../common/satellite-protocol';
import type { Logger } from '../common/logger';

/**
 * Actions that never change what an inspection answers (execs, attaches, file copies): a
 * container running thousands of execs would otherwise keep emptying the cache for nothing.
 */
const INERT_ACTIONS = /^(exec_|attach$|detach$|resize$|top$|archive-path$|extract-to-dir$|export$)/;

/**
 * Opens the engine's container event stream (events from now on) and answers its events, until the
 * engine's stream ends or `signal` aborts. Opening fails like any engine call when the engine is down.
 */
export async function openContainerEvents(docker: Docker, signal: AbortSignal): Promise<AsyncGenerator<ContainerEvent>> {
  const stream = (await docker.getEvents({ filters: { type: ['container'] } })) as NodeJS.ReadableStream & { destroy(): void };
  return eventsOf(stream, signal);
}

async function* eventsOf(stream: NodeJS.ReadableStream & { destroy(): void }, signal: AbortSignal): AsyncGenerator<ContainerEvent> {
  const abort = (): void => stream.destroy();
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    // Docker quirk: one event per line, in chunks that may split a line.
    for await (const line of textLines(stream)) {
      const event = parseEvent(line);
      if (event && !INERT_ACTIONS.test(event.action)) yield event;
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', abort);
    stream.destroy();
  }
}

function parseEvent(line: string): ContainerEvent | null {
  try {
    const raw = JSON.parse(line) as { Action?: string; status?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    const id = raw.Actor?.ID;
    if (!id) return null;
    return { id, name: raw.Actor?.Attributes?.name ?? null, action: raw.Action ?? raw.status ?? '' };
  } catch {
    return null;
  }
}

/** The most a feed's reader may fall behind before it is cut off (it reconnects and starts afresh). */
const MAX_UNREAD_FEED_BYTES = 1024 * 1024;

/** What GET /events writes to: a response, as far as the feed needs one. */
export interface FeedResponse {
  readonly writableLength: number;
  write(text: string): boolean;
  end(): void;
  destroy(): void;
}

/**
 * Writes the feed (`{"ready": true}`, then each event, a heartbeat `{}` every few seconds) until the
 * engine's stream ends (`events` also ends when the reader goes away), then ends the response.
 */
export async function writeEventFeed(input: { events: AsyncGenerator<ContainerEvent>; out: FeedResponse; logger: Logger }): Promise<void> {
  const { events, out, logger } = input;
  const send = (line: EventFeedLine): void => {
    if (out.writableLength > MAX_UNREAD_FEED_BYTES) out.destroy();
    else out.write(`${JSON.stringify(line)}\n`);
  };
  send({ ready: true });
  const heartbeat = setInterval(() => send({}), EVENT_HEARTBEAT_SECONDS * 1000);
  try {
    for await (const event of events) send(event);
  } catch (err) {
    logger.warn(`engine event stream failed: ${(err as Error).message}`);
  } finally {
    clearInterval(heartbeat);
    out.end();
  }
}
