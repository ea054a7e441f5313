/**
 * Docker quirk: without a TTY the engine multiplexes stdout and stderr into one stream of frames,
 * each with an 8-byte header (stream type, 3 zero bytes, big-endian payload length). This
 * Transform keeps the payloads of the wanted streams and respects back-pressure, unlike
 * docker-modem's demuxStream, which ignores the writable's return value.
 *
 * Docker quirk: the engine writes every frame (about one line of output) separately, so a reader
 * gets chunks of a few hundred bytes; passed on one by one, each became a socket write here and in
 * the API (200 MiB of output read at 0.54× the raw engine's rate). Payloads are gathered into chunks
 * of up to 64 KiB, flushed at the latest 5 ms after their first byte so a followed log stays live.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type LogStreamName = 'stdout' | 'stderr';

const STREAM_IDS: Record<number, LogStreamName | 'stdin'> = { 0: 'stdin', 1: 'stdout', 2: 'stderr' };
const CHUNK_BYTES = 64 * 1024;
const FLUSH_AFTER_MS = 5;

export class LogDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private frameRemaining = 0;
  private frameWanted = false;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly wanted: ReadonlySet<LogStreamName>) {
    super();
  }

  private gather(payload: Buffer): void {
    this.gathered.push(payload);
    this.gatheredBytes += payload.length;
    if (this.gatheredBytes >= CHUNK_BYTES) this.pushGathered();
    else this.flushTimer ??= setTimeout(() => this.pushGathered(), FLUSH_AFTER_MS);
  }

  private pushGathered(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.gatheredBytes === 0 || this.destroyed) return;
    const chunk = this.gathered.length === 1 ? this.gathered[0] : Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    this.push(chunk);
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
      if (this.frameWanted) this.gather(data.subarray(0, take));
      this.frameRemaining -= take;
      data = data.subarray(take);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.pushGathered();
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    done(err);
  }
}
