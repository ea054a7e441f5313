/** Server-Sent Events read from a Node stream, one event at a time (no buffering of the whole body). */
import type { Readable } from 'node:stream';
import type { OutputEvent } from './types';

export async function* readEvents(body: Readable): AsyncGenerator<OutputEvent> {
  let pending = '';
  let event: OutputEvent = { event: 'message', data: '' };
  let data: string[] = [];
  body.setEncoding('utf8');
  for await (const chunk of body as AsyncIterable<string>) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      if (line === '') {
        if (data.length || event.event !== 'message') {
          event.data = data.join('\n');
          yield event;
        }
        event = { event: 'message', data: '' };
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') event.id = value;
    }
  }
}
