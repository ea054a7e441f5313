/**
 * The engine's container events, as the satellite passes them on (GET /events): one JSON object
 * per line. The API keeps inspections cached while it holds this feed, and drops a container's entry
 * when an event names it, so a state read need not cross to the engine at all.
 */
import type Docker from 'dockerode';
import type { ContainerEvent } from '../common/satellite-protocol';

/**
 * Actions that never change what an inspection answers (execs, attaches, file copies): a sandbox
 * running thousands of execs would otherwise keep emptying the cache for nothing.
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
  let partial = '';
  try {
    for await (const chunk of stream) {
      // Docker quirk: one event per line, but a chunk may hold several lines or part of one.
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseEvent(line);
        if (event && !INERT_ACTIONS.test(event.action)) yield event;
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', abort);
    stream.destroy();
  }
}

function parseEvent(line: string): ContainerEvent | null {
  if (!line.trim()) return null;
  try {
    const raw = JSON.parse(line) as { Action?: string; status?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    const id = raw.Actor?.ID;
    if (!id) return null;
    return { id, name: raw.Actor?.Attributes?.name ?? null, action: raw.Action ?? raw.status ?? '' };
  } catch {
    return null;
  }
}
