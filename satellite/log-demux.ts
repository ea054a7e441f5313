/**
 * Docker quirk: without a TTY the engine multiplexes stdout and stderr into one stream of frames,
 * each with an 8-byte header (stream type, 3 zero bytes, big-endian payload length). This
 * Transform keeps the payloads of the wanted streams and respects back-pressure, unlike
 * docker-modem's demuxStream, which ignores the writable's return value.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type LogStreamName = 'stdout' | 'stderr';

const STREAM_IDS: Record<number, LogStreamName | 'stdin'> = { 0: 'stdin', 1: 'stdout', 2: 'stderr' };

export class LogDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private frameRemaining = 0;
  private frameWanted = false;

  constructor(private readonly wanted: ReadonlySet<LogStreamName>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.frameRemaining === 0) {
        if (data.length < 8) {
          this.pending = Buffer.from(data);
          break;
        }
        const stream = STREAM_IDS[data[0]];
        this.frameWanted = stream !== undefined && stream !== 'stdin' && this.wanted.has(stream);
        this.frameRemaining = data.readUInt32BE(4);
        data = data.subarray(8);
        continue;
      }
      const take = Math.min(this.frameRemaining, data.length);
      if (this.frameWanted) this.push(data.subarray(0, take));
      this.frameRemaining -= take;
      data = data.subarray(take);
    }
    done();
  }
}
