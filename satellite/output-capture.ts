/**
 * A container's output as the engine hands it over (attached or logged): frames demultiplexed, and
 * each stream kept up to a cap.
 */
import type { Readable } from 'node:stream';

export interface Frame {
  stream: number;
  payload: Buffer;
}

/**
 * Docker quirk: without a TTY, attached and logged output is one stream of frames, each with an
 * 8-byte header (stream id, 3 zero bytes, big-endian length). Yields whole frames, pulling the
 * source only as fast as the consumer takes them.
 */
export async function* framesOf(source: Readable): AsyncGenerator<Frame> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    while (pending.length >= 8) {
      const length = pending.readUInt32BE(4);
      if (pending.length < 8 + length) break;
      yield { stream: pending[0], payload: pending.subarray(8, 8 + length) };
      pending = pending.subarray(8 + length);
    }
  }
}

/** Cuts a buffer to at most `max` bytes without splitting a UTF-8 sequence. */
function utf8Prefix(buffer: Buffer, max: number): Buffer {
  if (buffer.length <= max) return buffer;
  let cut = max;
  while (cut > 0 && (buffer[cut] & 0xc0) === 0x80) cut--;
  return buffer.subarray(0, cut);
}

/** Keeps the first `max` bytes of a stream and counts the rest. */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  overflowed = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const room = this.max - this.kept;
    if (chunk.length > room) this.overflowed = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(Buffer.from(part));
    this.kept += part.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return (this.overflowed ? utf8Prefix(all, this.max) : all).toString('utf8');
  }
}
