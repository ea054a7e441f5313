import { Readable } from 'node:stream';
import { LogDemuxer, type LogStreamName } from '../../satellite/log-demux';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function demux(chunks: Buffer[], wanted: LogStreamName[]): Promise<string> {
  const out: Buffer[] = [];
  const demuxer = Readable.from(chunks).pipe(new LogDemuxer(new Set(wanted)));
  for await (const chunk of demuxer) out.push(chunk as Buffer);
  return Buffer.concat(out).toString();
}

const frames = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n')]);

test('keeps the wanted streams in order', async () => {
  expect(await demux([frames], ['stdout', 'stderr'])).toBe('out one\nerr one\nout two\n');
  expect(await demux([frames], ['stdout'])).toBe('out one\nout two\n');
  expect(await demux([frames], ['stderr'])).toBe('err one\n');
});

test('frames split at every possible byte boundary come out the same', async () => {
  for (let cut = 1; cut < frames.length; cut++) {
    expect(await demux([frames.subarray(0, cut), frames.subarray(cut)], ['stdout', 'stderr'])).toBe('out one\nerr one\nout two\n');
  }
  const bytes = [...frames].map((b) => Buffer.from([b]));
  expect(await demux(bytes, ['stdout'])).toBe('out one\nout two\n');
});

test('gathers small frames into large chunks, and flushes a quiet stream within milliseconds', async () => {
  const many = Array.from({ length: 2000 }, (_, i) => frame(1, `line ${i}\n`));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(many).pipe(new LogDemuxer(new Set(['stdout'])))) out.push(chunk as Buffer);
  expect(Buffer.concat(out).toString()).toBe(Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(''));
  expect(out.length).toBeLessThan(10);

  // A followed log: a line written and then nothing more still reaches the reader.
  const demuxer = new LogDemuxer(new Set(['stdout']));
  const first = new Promise<Buffer>((resolve) => demuxer.once('data', resolve));
  demuxer.write(frame(1, 'live\n'));
  expect((await first).toString()).toBe('live\n');
  demuxer.destroy();
});
