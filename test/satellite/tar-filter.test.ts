import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { readTar } from '../support/archives';
import { TarEntryFilter, type TarEntryType } from '../../satellite/tar-filter';

interface Entry {
  name: string;
  type: string;
  body: string;
}

async function makeTar(entries: Array<{ name: string; type?: tar.Header['type']; body?: string; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of Readable.from(pack)) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: entry.name, type, linkname: entry.linkname, size: type === 'file' ? Buffer.byteLength(entry.body ?? '') : 0 }, type === 'file' ? (entry.body ?? '') : '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A tar's entries, bodies as text. */
async function readTarText(buffer: Buffer): Promise<Entry[]> {
  return (await readTar(buffer)).map((entry) => ({ ...entry, body: entry.body.toString() }));
}

/** Runs archives through filters in chunks of `chunkSize` bytes and joins them, as writeArchive does. */
async function joined(archives: Buffer[], keep: (type: TarEntryType) => boolean, chunkSize: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for (const archive of archives) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < archive.length; i += chunkSize) chunks.push(archive.subarray(i, i + chunkSize));
    for await (const chunk of Readable.from(chunks).pipe(new TarEntryFilter(keep))) out.push(chunk as Buffer);
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

const longName = `out/${'deep/'.repeat(40)}file.txt`;
const noFifos = (type: TarEntryType): boolean => type !== 'fifo' && type !== 'character-device';

test('joins archives, keeps long (pax) names, drops unwanted entries with their extended headers', async () => {
  const first = await makeTar([
    { name: 'out/', type: 'directory' },
    { name: 'out/a.txt', body: 'a\n' },
    { name: `out/${'p/'.repeat(60)}pipe`, type: 'fifo' },
    { name: longName, body: 'long\n' },
    { name: 'out/link', type: 'symlink', linkname: 'a.txt' },
  ]);
  const second = await makeTar([{ name: 'data/', type: 'directory' }, { name: 'data/big.bin', body: 'x'.repeat(70_000) }, { name: 'data/dev', type: 'character-device' }]);
  for (const chunkSize of [1, 7, 512, 1000, 65536]) {
    const entries = await readTarText(await joined([first, second], noFifos, chunkSize));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['out/', 'directory'],
      ['out/a.txt', 'file'],
      [longName, 'file'],
      ['out/link', 'symlink'],
      ['data/', 'directory'],
      ['data/big.bin', 'file'],
    ]);
    expect(entries.find((e) => e.name === longName)?.body).toBe('long\n');
    expect(entries.find((e) => e.name === 'data/big.bin')?.body).toBe('x'.repeat(70_000));
  }
});

test('a truncated archive is an error, not a short success', async () => {
  const archive = await makeTar([{ name: 'a.txt', body: 'y'.repeat(5000) }]);
  await expect(joined([archive.subarray(0, 2000)], () => true, 512)).rejects.toThrow(/truncated/);
  // Cut right after a whole entry: without its end blocks it is still a cut archive.
  const small = await makeTar([{ name: 'b.txt', body: 'z' }]);
  await expect(joined([small.subarray(0, 1024)], () => true, 512)).rejects.toThrow(/truncated/);
});
