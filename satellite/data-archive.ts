/**
 * Turns a downloaded data file into a tar stream rooted at the container's `datapath`, ready for
 * the engine's putArchive. Zip and tar(.gz) archives are unpacked entry by entry; any entry that
 * would land outside `datapath` (absolute names, `..`, links that point out, paths that lead out
 * through links unpacked before them: see archive-tree.ts) refuses the whole archive, and so does
 * one that unpacks to more than `maxRatio` times its own size (a zip or gzip bomb). Anything else is placed as one file named after the URL.
 */
import { createReadStream } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import * as yauzl from 'yauzl';
import { PayloadTooLargeError, ValidationError } from '../common/errors';
import { ArchiveLinkError, ArchiveTree } from './archive-tree';
import { eachTarEntry } from './tar-entries';

export interface DataArchiveLimits {
  maxEntries: number;
  /** Total bytes after unpacking. */
  maxBytes: number;
  /** Most bytes unpacked per byte of the downloaded file (compression ratio), beyond RATIO_GRACE_BYTES. */
  maxRatio: number;
}

/** Unpacked bytes always allowed whatever the ratio, so small, very regular data is never refused. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export interface DataArchiveInput {
  file: string;
  url: string;
  /** Absolute directory inside the container. */
  datapath: string;
  limits: DataArchiveLimits;
}

type Kind = 'zip' | 'tar' | 'tar.gz' | 'plain';

const refuse = (message: string): ValidationError => ValidationError.field('dataurl', message);

async function detectKind(file: string): Promise<Kind> {
  const handle = await openFile(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return 'plain';
  } finally {
    await handle.close();
  }
}

/** The entry's path relative to datapath, or an error when it would escape it. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw refuse(`archive entry "${name}" has a NUL byte`);
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) throw refuse(`archive entry "${name}" is an absolute path`);
  const normalized = posix.normalize(name.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith('../')) throw refuse(`archive entry "${name}" escapes datapath`);
  return normalized.replace(/\/$/, '').replace(/^\.$/, '');
}

/** A hard link's target: archive-relative, so it is checked from datapath, not from the link's directory. */
function hardLinkTarget(entry: string, target: string): string {
  if (target.startsWith('/')) throw refuse(`archive link "${entry}" points to an absolute path`);
  const resolved = posix.normalize(target);
  if (resolved === '..' || resolved.startsWith('../')) throw refuse(`archive link "${entry}" points outside datapath`);
  return resolved.replace(/\/$/, '').replace(/^\.$/, '');
}

/** Runs a step of the tree's bookkeeping; a path that leaves datapath refuses the archive. */
function inTree(step: () => void): void {
  try {
    step();
  } catch (err) {
    if (err instanceof ArchiveLinkError) throw refuse(err.message);
    throw err;
  }
}

/**
 * Counts what an archive unpacks to. Sizes are checked as entries are announced (before their bytes
 * are inflated); `inflated` also counts a gzip stream's raw output, which holds more than the
 * entries (headers, padding, anything after the end of the tar).
 */
class Budget {
  private entries = 0;
  private bytes = 0;
  private readonly ratioLimitBytes: number;
  constructor(
    private readonly limits: DataArchiveLimits,
    private readonly archiveBytes: number,
  ) {
    this.ratioLimitBytes = Math.max(RATIO_GRACE_BYTES, limits.maxRatio * archiveBytes);
  }
  add(size: number): void {
    this.entries += 1;
    this.bytes += size;
    if (this.entries > this.limits.maxEntries) throw refuse(`the archive has more than ${this.limits.maxEntries} entries`);
    this.checkUnpacked(this.bytes);
  }
  inflated(total: number): void {
    this.checkUnpacked(total);
  }
  private checkUnpacked(total: number): void {
    if (total > this.limits.maxBytes) throw new PayloadTooLargeError(`dataurl: the unpacked data exceeds ${this.limits.maxBytes} bytes`);
    if (total > this.ratioLimitBytes) {
      throw refuse(`the archive unpacks to more than ${this.limits.maxRatio} times its size of ${this.archiveBytes} bytes (a compression bomb?)`);
    }
  }
}

/** Passes a decompressed stream through, failing it once it outgrows the budget. */
function inflationMeter(budget: Budget): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      try {
        budget.inflated(total);
        callback(null, chunk);
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

function withinDatapath(datapath: string, relative: string): string {
  return posix.join(datapath, relative).replace(/^\/+/, '');
}

type EntryHeader = Parameters<tar.Pack['entry']>[0];

function writeEntry(pack: tar.Pack, header: EntryHeader, body?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (body) {
      body.on('error', reject);
      body.pipe(sink);
    } else {
      sink.end(Buffer.alloc(0));
    }
  });
}

async function packTar(source: Readable, input: DataArchiveInput, pack: tar.Pack, budget: Budget): Promise<void> {
  try {
    const tree = new ArchiveTree();
    await eachTarEntry(source, async (header, stream) => {
      const relative = safeEntryPath(header.name);
      let linkname = header.linkname;
      if (header.type === 'symlink') {
        inTree(() => tree.addSymlink(relative, header.linkname ?? ''));
      } else if (header.type === 'link') {
        const target = hardLinkTarget(relative, header.linkname ?? '');
        inTree(() => tree.addHardLink(relative, target));
        linkname = withinDatapath(input.datapath, target);
      } else if (header.type === 'file' || header.type === 'directory' || header.type === 'contiguous-file') {
        inTree(() => tree.addEntry(relative, header.type === 'directory'));
      } else {
        // Devices and fifos have no place in data (tar-stream consumes pax headers itself).
        throw refuse(`archive entry "${header.name}" is a ${header.type}; only files, directories and links are allowed`);
      }
      budget.add(header.size ?? 0);
      const name = withinDatapath(input.datapath, relative);
      await writeEntry(pack, { ...header, name, linkname }, stream);
    });
    inTree(() => tree.finish());
  } catch (err) {
    // A gunzip failure (corrupt .tar.gz) or a broken archive is the caller's input.
    if (err instanceof ValidationError || err instanceof PayloadTooLargeError) throw err;
    throw refuse(`not a valid tar archive: ${(err as Error).message}`);
  }
}

async function packZip(input: DataArchiveInput, pack: tar.Pack, budget: Budget): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(input.file, { lazyEntries: true, strictFileNames: false, validateEntrySizes: true }, (err, z) =>
      err || !z ? reject(refuse(`not a valid zip archive: ${err?.message}`)) : resolve(z),
    ),
  );
  const tree = new ArchiveTree();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        const handle = async (): Promise<void> => {
          const relative = safeEntryPath(entry.fileName);
          const isDir = entry.fileName.endsWith('/');
          // Zip links are refused below, but a file may still not replace datapath itself.
          inTree(() => tree.addEntry(relative, isDir));
          budget.add(entry.uncompressedSize);
          const name = withinDatapath(input.datapath, relative);
          const mode = (entry.externalFileAttributes >>> 16) & 0o7777 || (isDir ? 0o755 : 0o644);
          if (isDir) return writeEntry(pack, { name, type: 'directory', mode });
          if (((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000) {
            throw refuse(`archive entry "${entry.fileName}" is a symbolic link; zip links are not allowed`);
          }
          const body = await new Promise<Readable>((res, rej) =>
            zip.openReadStream(entry, (err, s) => (err || !s ? rej(refuse(`zip entry "${entry.fileName}": ${err?.message}`)) : res(s))),
          );
          await writeEntry(pack, { name, type: 'file', mode, size: entry.uncompressedSize, mtime: entry.getLastModDate() }, body);
        };
        handle().then(() => zip.readEntry(), reject);
      });
      zip.on('end', resolve);
      zip.on('error', (err: Error) => reject(refuse(`not a valid zip archive: ${err.message}`)));
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

function plainFileName(url: string): string {
  const base = posix.basename(new URL(url).pathname);
  return base && base !== '/' && base !== '.' && base !== '..' ? base : 'data';
}

/**
 * Fills `pack` with the data's entries and finalizes it. Errors (unsafe entries, limits) reject;
 * the caller must then discard the pack's output.
 */
export async function packDataArchive(input: DataArchiveInput, pack: tar.Pack): Promise<void> {
  const { size: archiveBytes } = await stat(input.file);
  const budget = new Budget(input.limits, archiveBytes);
  const kind = await detectKind(input.file);
  const dir = input.datapath.replace(/^\/+/, '');
  if (dir) await writeEntry(pack, { name: dir, type: 'directory', mode: 0o755 });
  if (kind === 'zip') {
    await packZip(input, pack, budget);
  } else if (kind === 'tar' || kind === 'tar.gz') {
    const raw = createReadStream(input.file);
    let source: Readable = raw;
    if (kind === 'tar.gz') {
      const gunzip = createGunzip();
      source = raw.pipe(gunzip).pipe(inflationMeter(budget));
      raw.on('error', (err) => source.destroy(err));
      gunzip.on('error', (err) => source.destroy(err));
    }
    await packTar(source, input, pack, budget);
  } else {
    budget.add(archiveBytes);
    const name = withinDatapath(input.datapath, plainFileName(input.url));
    await writeEntry(pack, { name, type: 'file', mode: 0o644, size: archiveBytes }, createReadStream(input.file));
  }
  pack.finalize();
}
