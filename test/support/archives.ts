/** Builds tar, tar.gz and zip archives in memory for staging tests, including hostile ones. */
import * as tar from 'tar-stream';
import { gzipSync } from 'node:zlib';
import * as yazl from 'yazl';

export interface TarEntrySpec {
  name: string;
  body?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const entry of entries) {
    pack.entry({ name: entry.name, type: entry.type ?? 'file', linkname: entry.linkname, mode: entry.type === 'directory' ? 0o755 : 0o644 }, entry.body ?? '');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function makeTarGz(entries: TarEntrySpec[]): Promise<Buffer> {
  return gzipSync(await makeTar(entries));
}

export async function makeZip(entries: Array<{ name: string; body: string }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) zip.addBuffer(Buffer.from(entry.body), entry.name, { mode: 0o100644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** yazl refuses unsafe names, so a zip-slip entry is patched in after the fact (same length). */
export async function makeZipWithRawName(safeName: string, rawName: string, body: string): Promise<Buffer> {
  if (safeName.length !== rawName.length) throw new Error('names must have the same length');
  const zip = await makeZip([{ name: safeName, body }]);
  return Buffer.from(zip.toString('latin1').split(safeName).join(rawName), 'latin1');
}

export interface TarEntry {
  name: string;
  type: string;
  body: Buffer;
}

/** Every entry of a tar (not gzipped), in order, its body read whole. */
export async function readTar(buffer: Buffer): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        entries.push({ name: header.name, type: header.type ?? 'file', body: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(buffer);
  await done;
  return entries;
}
