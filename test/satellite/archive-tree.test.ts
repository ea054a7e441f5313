/**
 * The data archive's link resolver: entries and link targets are resolved through the links
 * unpacked before them, as the kernel will when the engine unpacks the archive, and whatever
 * leaves datapath (even through a chain whose every link looked inside when it was unpacked) is
 * refused.
 */
import { ArchiveLinkError, ArchiveTree, MAX_LINK_HOPS, MAX_PATH_BYTES } from '../../satellite/archive-tree';

type Step = ['file' | 'dir', string] | ['symlink' | 'hardlink', string, string];

/** Applies the steps in order; answers where the last one landed. */
function unpack(steps: Step[]): string {
  const tree = new ArchiveTree();
  let last = '';
  for (const step of steps) {
    if (step[0] === 'file' || step[0] === 'dir') last = tree.addEntry(step[1], step[0] === 'dir');
    else if (step[0] === 'symlink') last = tree.addSymlink(step[1], step[2]);
    else last = tree.addHardLink(step[1], step[2] as string).place;
  }
  tree.finish();
  return last;
}

function refusal(steps: Step[]): ArchiveLinkError {
  try {
    unpack(steps);
  } catch (err) {
    if (err instanceof ArchiveLinkError) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(steps)}`);
}

const chain = (length: number, last: string): Step[] =>
  Array.from({ length }, (_, i): Step => ['symlink', `l${i}`, i === length - 1 ? last : `l${i + 1}`]);

const nested = (depth: number): string => Array.from({ length: depth }, (_, i) => `d${i}`).join('/');

describe('refused: the path leaves datapath', () => {
  test.each<[string, Step[], RegExp]>([
    ['the issue\'s chain: a -> ., x -> a/.. (lexically ".")', [['symlink', 'a', '.'], ['symlink', 'x', 'a/..'], ['file', 'x/f']], /archive link "x" leads outside datapath/],
    ['a link to a link to ..', [['symlink', 'b', '..'], ['symlink', 'a', 'b']], /archive link "b" leads outside datapath/],
    ['a link whose target goes up through a link to a subdirectory', [['dir', 'd/e'], ['symlink', 'l', 'd/e'], ['symlink', 'up', 'l/../../..']], /archive link "up" leads outside/],
    ['.. through a link to a deeper directory, from a subdirectory', [['symlink', 'deep', 'x/y/z'], ['symlink', 'sub/up', '../deep/../../../..']], /archive link "sub\/up" leads outside/],
    ['an absolute link target', [['symlink', 'etc', '/etc']], /archive link "etc" points to an absolute path/],
    ['an absolute target at the end of a chain', [['symlink', 'a', 'b'], ['symlink', 'b', '/']], /archive link "b" points to an absolute path/],
    ['a link at datapath itself (it would resolve from datapath\'s parent)', [['symlink', '', 'sub']], /would replace datapath itself/],
    ['a file at datapath itself', [['file', '']], /would replace datapath itself/],
    ['a hard link at datapath itself', [['file', 'f'], ['hardlink', '', 'f']], /would replace datapath itself/],
  ])('%s', (_name, steps, message) => {
    expect(refusal(steps).message).toMatch(message);
  });

  test('an entry written through links that each looked inside when unpacked', () => {
    // x -> sub/.. is datapath while sub does not exist; once sub -> ., x is datapath's parent.
    const steps: Step[] = [['symlink', 'x', 'sub/..'], ['symlink', 'sub', '.'], ['file', 'x/f']];
    const err = refusal(steps);
    expect(err.problem).toBe('escapes');
    expect(err.message).toMatch(/archive entry "x\/f" leads outside datapath/);
  });

  test('a directory written through such a chain, deep below it', () => {
    expect(refusal([['symlink', 'x', 'sub/..'], ['symlink', 'sub', '.'], ['dir', 'x/a/b/c']]).message).toMatch(/archive entry "x\/a\/b\/c" leads outside/);
  });

  test('a link left pointing outside by a later link is refused at the end of the archive', () => {
    // l -> b/.. is datapath; b -> x with x -> . makes it datapath's parent, and nothing writes through l.
    const err = refusal([['symlink', 'l', 'b/..'], ['symlink', 'x', '.'], ['symlink', 'b', 'x']]);
    expect(err.message).toMatch(/archive link "l" leads outside datapath/);
  });

  test('a hard link to a path through a link that now leads out', () => {
    const steps: Step[] = [['symlink', 'x', 'q/..'], ['symlink', 'q', '.'], ['hardlink', 'h', 'x/etc/passwd']];
    expect(refusal(steps).message).toMatch(/archive link "h" leads outside datapath/);
  });

  test('a hard link to a symlink whose target leads out from the new place', () => {
    // d/s -> ../sub is datapath/sub; the same text at datapath/h is datapath's sibling "sub".
    expect(refusal([['dir', 'd'], ['symlink', 'd/s', '../sub'], ['hardlink', 'h', 'd/s']]).message).toMatch(/archive link "h" leads outside/);
  });

  test(`a chain of ${MAX_LINK_HOPS + 1} links, and a loop, are refused (the kernel's ELOOP)`, () => {
    expect(refusal([...chain(MAX_LINK_HOPS + 1, 'target'), ['file', 'l0/f']]).problem).toBe('too-many-links');
    expect(refusal([['symlink', 'a', 'b'], ['symlink', 'b', 'a']]).problem).toBe('too-many-links');
    expect(refusal([['symlink', 'self', 'self/x']]).problem).toBe('too-many-links');
  });

  test('deep nesting: one .. too many below 60 directories', () => {
    const depth = 60;
    expect(unpack([['symlink', `${nested(depth)}/up`, '../'.repeat(depth)]])).toBe(`${nested(depth)}/up`);
    expect(refusal([['symlink', `${nested(depth)}/up`, '../'.repeat(depth + 1)]]).problem).toBe('escapes');
  });

  test(`names and targets longer than ${MAX_PATH_BYTES} bytes`, () => {
    expect(refusal([['symlink', 'l', 'a/'.repeat(MAX_PATH_BYTES)]]).problem).toBe('too-long');
  });
});

describe('accepted: links that stay inside resolve where the kernel puts them', () => {
  test.each<[string, Step[], string]>([
    ['a file through a link to a subdirectory', [['dir', 'sub'], ['symlink', 's', 'sub'], ['file', 's/f']], 'sub/f'],
    ['a link to a link', [['symlink', 'a', 'b'], ['symlink', 'b', 'c/d'], ['file', 'a/f']], 'c/d/f'],
    ['.. through a link directory goes to the target\'s parent, not the link\'s', [['symlink', 'l', 'x/y'], ['symlink', 'up', 'l/..'], ['file', 'up/f']], 'x/f'],
    ['a link to datapath itself', [['symlink', 'a', '.'], ['file', 'a/a2/f']], 'a2/f'],
    ['a link replaced by a directory is not followed any more', [['symlink', 'x', 'sub'], ['dir', 'x'], ['file', 'x/f']], 'x/f'],
    ['the last component of an entry is replaced, not followed', [['symlink', 'x', 'sub'], ['file', 'x']], 'x'],
    [`a chain of ${MAX_LINK_HOPS} links`, [...chain(MAX_LINK_HOPS, 'target'), ['file', 'l0/f']], 'target/f'],
    ['a dangling link', [['symlink', 'later', 'not/yet/there']], 'later'],
    ['a hard link through a link', [['dir', 'sub'], ['file', 'sub/f'], ['symlink', 's', 'sub'], ['hardlink', 'h', 's/f']], 'h'],
    ['a hard link to a symlink whose text still points inside from the new place', [['symlink', 'd/s', 'x'], ['hardlink', 'h', 'd/s'], ['file', 'h/f']], 'x/f'],
  ])('%s', (_name, steps, place) => {
    expect(unpack(steps)).toBe(place);
  });

  test('a hard link through a link names the file it reaches', () => {
    const tree = new ArchiveTree();
    tree.addSymlink('s', 'sub');
    expect(tree.addHardLink('h', 's/f')).toEqual({ place: 'h', target: 'sub/f' });
  });
});
