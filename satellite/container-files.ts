/**
 * What a container changed, read through the engine (never from the host's disk, so no link
 * can lead out of the container's filesystem): the diff, the changed regular files, one file,
 * and a tar of all changes streamed entry by entry.
 */
import type Docker from 'dockerode';
import { once } from 'node:events';
import { posix } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { NotFoundError } from '../common/errors';
import { SCRIPT_DIR, type ChangeEntry, type FileEntry } from '../common/satellite-protocol';
import { engineError } from './engine-errors';
import { drain, eachTarEntry } from './tar-entries';
import { TarEntryFilter, type TarEntryType } from './tar-filter';

/** Go's os.FileMode type bits, as the engine reports them in X-Docker-Container-Path-Stat. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_TYPE_BITS = MODE_DIR | 2 ** 27 | 2 ** 26 | 2 ** 25 | 2 ** 24 | 2 ** 21 | 2 ** 19;
const MAX_SYMLINK_HOPS = 8;

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  linkTarget: string;
}

interface ArchiveRoot {
  path: string;
  /** Added roots contribute everything under them; modified ones only themselves. */
  added: boolean;
}

export interface OpenedFile {
  path: string;
  size: number;
  stream: Readable;
}

function isHidden(path: string): boolean {
  return path === SCRIPT_DIR || path.startsWith(SCRIPT_DIR + '/');
}

/** What a changes archive carries: files, directories and links, never devices or fifos. */
function isArchivedType(type: TarEntryType): boolean {
  return type === 'file' || type === 'contiguous-file' || type === 'directory' || type === 'symlink' || type === 'link';
}

function isRegular(mode: number): boolean {
  return (mode & MODE_TYPE_BITS) === 0;
}

/** The engine names archive entries relative to the requested path's parent. */
function entryPath(root: string, entryName: string): string {
  return posix.join(posix.dirname(root), entryName);
}

async function statPath(container: Docker.Container, path: string): Promise<PathStat | null> {
  try {
    const response = (await container.infoArchive({ path })) as unknown as Readable & { headers: Record<string, string> };
    response.resume();
    const header = response.headers['x-docker-container-path-stat'];
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
  } catch (err) {
    // The engine answers 404 both for a missing container and a missing path; the caller has
    // already inspected the container, so here it means the path.
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw engineError(err, 'path');
  }
}

async function openArchive(container: Docker.Container, path: string): Promise<Readable> {
  try {
    return (await container.getArchive({ path })) as unknown as Readable;
  } catch (err) {
    throw engineError(err, `path ${path}`);
  }
}

export class ContainerFiles {
  async changes(container: Docker.Container): Promise<ChangeEntry[]> {
    let answer: unknown;
    try {
      answer = await container.changes();
    } catch (err) {
      throw engineError(err, 'container');
    }
    // Docker quirk: a container without changes answers the JSON null, not [], and dockerode hands
    // that body back unparsed, as a Buffer holding "null\n".
    const diff = (Buffer.isBuffer(answer) ? JSON.parse(answer.toString('utf8')) : answer) as ChangeEntry[] | null;
    return (diff ?? []).filter((c) => !isHidden(c.Path)).sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  }

  /**
   * The fewest archive requests that cover every added or modified path: the top-most added
   * paths (everything below them is new) and the modified paths that are not directories.
   */
  private async roots(container: Docker.Container): Promise<ArchiveRoot[]> {
    const changes = (await this.changes(container)).filter((c) => c.Kind !== 2);
    const paths = changes.map((c) => c.Path);
    const hasChildren = (path: string): boolean => paths.some((p) => p.startsWith(path + '/'));
    const roots: ArchiveRoot[] = [];
    let lastAdded: string | null = null;
    for (const change of changes) {
      if (lastAdded && change.Path.startsWith(lastAdded + '/')) continue;
      if (change.Kind === 1) {
        roots.push({ path: change.Path, added: true });
        lastAdded = change.Path;
      } else if (!hasChildren(change.Path)) {
        roots.push({ path: change.Path, added: false });
      }
    }
    return roots;
  }

  /** Changed regular files (added or modified), numbered in path order. */
  async files(container: Docker.Container): Promise<FileEntry[]> {
    const found: Array<{ path: string; size: number }> = [];
    for (const root of await this.roots(container)) {
      const stat = await statPath(container, root.path);
      if (!stat) continue;
      if (isRegular(stat.mode)) {
        found.push({ path: root.path, size: stat.size });
      } else if (root.added && stat.mode & MODE_DIR) {
        // One archive request for a whole new directory tree; only the headers are kept.
        await eachTarEntry(await openArchive(container, root.path), async (header, stream) => {
          if (header.type === 'file' || header.type === 'contiguous-file') {
            found.push({ path: entryPath(root.path, header.name), size: header.size ?? 0 });
          }
          await drain(stream);
        });
      }
    }
    found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return found.map((f, num) => ({ num, path: f.path, size: f.size }));
  }

  /** One regular file's bytes, following symlinks inside the container's filesystem. */
  async openFile(container: Docker.Container, requested: string): Promise<OpenedFile> {
    let path = requested;
    for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
      const stat = await statPath(container, path);
      if (!stat) throw new NotFoundError(`File ${requested} not found in the container.`);
      if (stat.mode & MODE_SYMLINK) {
        // The engine resolves the link target within the container's root.
        path = posix.resolve(posix.dirname(path), stat.linkTarget);
        continue;
      }
      if (!isRegular(stat.mode)) throw new NotFoundError(`${requested} is not a regular file.`);
      const archive = await openArchive(container, path);
      return await new Promise<OpenedFile>((resolve, reject) => {
        const extract = tar.extract();
        extract.once('entry', (header, stream) => {
          // tar-stream's entries are streamx streams: piped straight into an http response they
          // crawl (~1 MB/s here); through async iteration they run at the engine's speed.
          resolve({ path, size: header.size ?? stat.size, stream: Readable.from(stream) });
          // Destroying the extractor after the body ends releases the engine's response.
          stream.once('end', () => {
            archive.destroy();
            extract.destroy();
          });
        });
        extract.once('finish', () => reject(new NotFoundError(`File ${requested} not found in the container.`)));
        extract.once('error', reject);
        archive.once('error', reject);
        archive.pipe(extract);
      });
    }
    throw new NotFoundError(`${requested}: too many levels of symbolic links.`);
  }

  /**
   * A tar of every change, written to `out` root by root: an added directory right under `/` is the
   * engine's own archive of it, passed through block by block (its entry names are already what they
   * should be); any other root is re-packed entry by entry under its full path. Both go through the
   * same filter, which keeps regular files, directories and links (no devices or fifos) and strips
   * each archive's end blocks; one end closes the whole. If `out` closes early (the reader went
   * away), everything stops and nothing is left waiting for a reader that will never come.
   */
  async writeArchive(container: Docker.Container, out: Writable): Promise<void> {
    const body = new PassThrough({ highWaterMark: 256 * 1024 });
    let current: Readable | null = null;
    let readerGone: Error | null = null;
    const onClose = (): void => {
      if (out.writableFinished) return;
      readerGone = new Error('the reader went away');
      current?.destroy(readerGone);
      body.destroy(readerGone);
    };
    out.once('close', onClose);
    // A function, so that TypeScript does not narrow readerGone (set by onClose) to null in the loop.
    const stopIfReaderGone = (): void => {
      if (readerGone) throw readerGone;
    };
    const piped = pipeline(body, out);
    piped.catch(() => undefined);
    try {
      for (const root of await this.roots(container)) {
        stopIfReaderGone();
        const passThrough = root.added && posix.dirname(root.path) === '/';
        const segment = passThrough ? await openArchive(container, root.path) : this.repacked(container, root);
        current = segment;
        const filtered = segment.pipe(new TarEntryFilter(passThrough ? isArchivedType : () => true));
        segment.once('error', (err) => filtered.destroy(err));
        for await (const chunk of filtered) {
          stopIfReaderGone();
          if (!body.write(chunk)) await once(body, 'drain');
        }
        current = null;
      }
      // The end of the archive: two zero blocks.
      body.end(Buffer.alloc(1024));
      await piped;
    } catch (err) {
      body.destroy();
      throw readerGone ?? err;
    } finally {
      out.off('close', onClose);
    }
  }

  /** One root that the engine names differently (or that needs picking from): its entries re-packed. */
  private repacked(container: Docker.Container, root: ArchiveRoot): Readable {
    const pack = tar.pack();
    // As in openFile: a streamx stream is read through Readable.from, never piped into Node streams.
    const packed = Readable.from(pack);
    const fill = async (): Promise<void> => {
      const source = await openArchive(container, root.path);
      packed.once('close', () => source.destroy());
      await eachTarEntry(source, async (header, stream) => {
        const isRoot = header.name.replace(/\/$/, '') === posix.basename(root.path);
        const wanted = root.added ? isArchivedType(header.type) : isRoot && (header.type === 'file' || header.type === 'contiguous-file');
        if (!wanted) return drain(stream);
        const name = entryPath(root.path, header.name).replace(/^\/+/, '');
        const linkname = header.type === 'link' && header.linkname ? entryPath(root.path, header.linkname).replace(/^\/+/, '') : header.linkname;
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...header, name, linkname }, (err) => (err ? reject(err) : resolve()));
          sink.on('error', reject);
          stream.on('error', reject);
          stream.pipe(sink);
        });
      });
      pack.finalize();
    };
    fill().catch((err: Error) => packed.destroy(err));
    return packed;
  }

}
