/**
 * The tree a data archive builds under `datapath`, as far as links go: every symbolic link unpacked
 * so far (by its resolved place), so that each later entry's path and each link's target are
 * resolved through them the way the kernel will when the engine unpacks the archive. A lexical
 * check alone is fooled by chains: `a -> .`, then `x -> a/..` (lexically `.`), then `x/f` writes
 * `f` beside datapath. Pure: no filesystem, the root is datapath and nothing above it is known.
 *
 * What the engine does with each entry (Docker's archive.Unpack, inside the container's root):
 * the parent directories are resolved through links, the last component is replaced, never
 * followed (an existing link or file there is removed first; a directory entry merges into an
 * existing directory), and a hard link's target is resolved the same way (link(2) does not follow
 * a final symlink: linking to a symlink makes another symlink with the same target text).
 */
import { posix } from 'node:path';

/** Most links followed while resolving one path: Linux's MAXSYMLINKS. */
export const MAX_LINK_HOPS = 40;
/** Longest entry name or link target, in bytes: Linux's PATH_MAX. */
export const MAX_PATH_BYTES = 4096;

export type ArchiveLinkProblem = 'escapes' | 'absolute' | 'too-many-links' | 'too-long';

/** An entry or link that would reach outside datapath, or cannot be resolved safely. */
export class ArchiveLinkError extends Error {
  constructor(
    readonly problem: ArchiveLinkProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveLinkError';
  }
}

type Resolution = { ok: true; path: string } | { ok: false; problem: ArchiveLinkProblem };

const components = (path: string): string[] => path.split('/').filter((part) => part !== '' && part !== '.');

export class ArchiveTree {
  /** Symbolic links by their resolved place (relative to datapath, no links in it) → target text. */
  private readonly links = new Map<string, string>();
  /** Directories that hold (or once held) a link somewhere below: the only ones worth scanning on replacement. */
  private readonly dirsWithLinks = new Set<string>();

  /**
   * Resolves `path` from the directory `from` (both relative to datapath) through the known links,
   * following the last component too when `followLast`. Leaving datapath at any step, an absolute
   * target and more than MAX_LINK_HOPS links are problems.
   */
  private resolve(from: string, path: string, followLast: boolean): Resolution {
    const current = components(from);
    // Components still to walk, last first (pop takes the next one).
    const pending = components(path).reverse();
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.pop() as string;
      if (part === '..') {
        if (current.length === 0) return { ok: false, problem: 'escapes' };
        current.pop();
        continue;
      }
      const candidate = [...current, part].join('/');
      const target = this.links.get(candidate);
      if (target !== undefined && (pending.length > 0 || followLast)) {
        hops += 1;
        if (hops > MAX_LINK_HOPS) return { ok: false, problem: 'too-many-links' };
        if (target.startsWith('/')) return { ok: false, problem: 'absolute' };
        // The link's own directory stays `current`; its target's components come next.
        pending.push(...components(target).reverse());
        continue;
      }
      current.push(part);
    }
    return { ok: true, path: current.join('/') };
  }

  private resolved(from: string, path: string, followLast: boolean, what: string): string {
    if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new ArchiveLinkError('too-long', `${what} is longer than ${MAX_PATH_BYTES} bytes`);
    const result = this.resolve(from, path, followLast);
    if (result.ok) return result.path;
    const message: Record<ArchiveLinkProblem, string> = {
      escapes: `${what} leads outside datapath`,
      absolute: `${what} leads through a link to an absolute path`,
      'too-many-links': `${what} goes through more than ${MAX_LINK_HOPS} links (a chain or a loop)`,
      'too-long': `${what} is longer than ${MAX_PATH_BYTES} bytes`,
    };
    throw new ArchiveLinkError(result.problem, message[result.problem]);
  }

  /**
   * Where an entry named `name` (relative to datapath, `..`-free) lands: its parents resolved
   * through links. Only a directory may be datapath itself: anything else would replace it, and
   * a link there resolves from datapath's parent.
   */
  private place(name: string, directory = false): string {
    if (name === '' && !directory) throw new ArchiveLinkError('escapes', 'an archive entry other than a directory would replace datapath itself');
    const parent = this.resolved('', posix.dirname(name), true, `archive entry "${name}"`);
    return parent === '' ? posix.basename(name) : `${parent}/${posix.basename(name)}`;
  }

  /** Something that is not a symlink now sits at `place`: a link there is gone, and whatever was below it unless it stays a directory. */
  private replace(place: string, directory: boolean): void {
    this.links.delete(place);
    if (directory || !this.dirsWithLinks.has(place)) return;
    for (const link of [...this.links.keys()]) if (link.startsWith(`${place}/`)) this.links.delete(link);
  }

  private recordLink(place: string, target: string): void {
    this.links.set(place, target);
    const parts = place.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) this.dirsWithLinks.add(parts.slice(0, depth).join('/'));
  }

  private checkLinkTarget(place: string, target: string, entry: string): void {
    if (target.startsWith('/')) throw new ArchiveLinkError('absolute', `archive link "${entry}" points to an absolute path`);
    this.resolved(posix.dirname(place) === '.' ? '' : posix.dirname(place), target, true, `archive link "${entry}"`);
  }

  /** A file or directory entry; answers where it lands, throws when that is outside datapath. */
  addEntry(name: string, directory: boolean): string {
    const place = this.place(name, directory);
    this.replace(place, directory);
    return place;
  }

  /** A symbolic link entry: its place and its target (followed to the end) must stay inside. Answers its place. */
  addSymlink(name: string, target: string): string {
    const place = this.place(name);
    // The engine removes what was at the place first, so an old link there does not count.
    this.replace(place, false);
    this.checkLinkTarget(place, target, name);
    this.recordLink(place, target);
    return place;
  }

  /**
   * A hard link entry to `target` (relative to datapath, as tar's link names are): the target's
   * parents are resolved through links; a hard link to a symlink becomes that symlink again at the
   * new place, where its target must stay inside as well. Answers its place and what it links to.
   */
  addHardLink(name: string, target: string): { place: string; target: string } {
    const place = this.place(name);
    const resolvedTarget = this.resolved('', target, false, `archive link "${name}"`);
    const linkedSymlink = this.links.get(resolvedTarget);
    this.replace(place, false);
    if (linkedSymlink !== undefined) {
      this.checkLinkTarget(place, linkedSymlink, name);
      this.recordLink(place, linkedSymlink);
    }
    return { place, target: resolvedTarget };
  }

  /**
   * Once every entry is in: every link must still lead inside, although later links may have
   * changed what its target's components resolve to (`l -> b/..` is inside until `b` becomes a
   * link to `.`).
   */
  finish(): void {
    for (const [place, target] of this.links) this.checkLinkTarget(place, target, place);
  }
}
