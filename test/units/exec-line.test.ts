import {
  ExecLineError,
  parseExecLine,
  renderExecLine,
  splitExecLine,
} from '../../units/exec-line';
import { expandSpecifiers } from '../../units/unit-name';
import { integer, nastyString, pick, seededRandom } from './random-strings';

describe('parseExecLine', () => {
  it('splits on spaces and tabs', () => {
    expect(splitExecLine('/usr/bin/docker  run\t--rm   busybox')).toEqual(['/usr/bin/docker', 'run', '--rm', 'busybox']);
  });

  it('handles double and single quotes, also in the middle of a word', () => {
    expect(splitExecLine(`/bin/echo "a b" 'c d' x"y z"w ""`)).toEqual(['/bin/echo', 'a b', 'c d', 'xy zw', '']);
    expect(splitExecLine(`/bin/echo "it's" 'say "hi"'`)).toEqual(['/bin/echo', "it's", 'say "hi"']);
  });

  it('decodes C escapes inside and outside quotes', () => {
    expect(splitExecLine('/bin/echo a\\nb "c\\td" \'e\\\\f\' \\"g\\" "\\x41\\101\\u00e9\\U0001F600" \\s')).toEqual([
      '/bin/echo', 'a\nb', 'c\td', 'e\\f', '"g"', 'AAé😀', ' ',
    ]);
  });

  it('decodes \\x bytes as UTF-8', () => {
    expect(splitExecLine('/bin/echo \\xc3\\xa9')).toEqual(['/bin/echo', 'é']);
    expect(() => splitExecLine('/bin/echo \\xff')).toThrow(/UTF-8/);
  });

  it('keeps unknown escapes and a trailing backslash verbatim, as systemd does after warning', () => {
    expect(splitExecLine('/bin/grep a\\.b \\z x\\')).toEqual(['/bin/grep', 'a\\.b', '\\z', 'x\\']);
    expect(splitExecLine('/bin/echo a\\ b')).toEqual(['/bin/echo', 'a\\ b']);
  });

  it('turns %% into % and $$ into $ in arguments', () => {
    expect(splitExecLine('/bin/echo 100%% $$HOME a$$b $${X} %n')).toEqual(['/bin/echo', '100%', '$HOME', 'a$b', '${X}', '%n']);
  });

  it('keeps a $ that is not a variable reference', () => {
    expect(splitExecLine('/bin/echo a$b a$ "a $1"')).toEqual(['/bin/echo', 'a$b', 'a$', 'a $1']);
  });

  it('refuses environment variable references', () => {
    expect(() => splitExecLine('/bin/echo $HOME')).toThrow(/environment variable/);
    expect(() => splitExecLine('/bin/echo "$HOME"')).toThrow(/environment variable/);
    expect(() => splitExecLine('/bin/echo a${HOME}')).toThrow(/environment variable/);
    expect(() => splitExecLine('/bin/echo $')).toThrow(/environment variable/);
  });

  it('does no $ substitution with the : prefix', () => {
    expect(parseExecLine(':/bin/echo $HOME $$')).toEqual({ prefixes: ':', argv: ['/bin/echo', '$HOME', '$$'] });
  });

  it('returns prefixes separately, also from a quoted first word', () => {
    expect(parseExecLine('-/usr/bin/docker rm -f x')).toEqual({ prefixes: '-', argv: ['/usr/bin/docker', 'rm', '-f', 'x'] });
    expect(parseExecLine('"-@/bin/sh" x')).toEqual({ prefixes: '-@', argv: ['/bin/sh', 'x'] });
    expect(parseExecLine('!!/bin/true')).toEqual({ prefixes: '!!', argv: ['/bin/true'] });
    expect(parseExecLine('+-:/bin/true')).toEqual({ prefixes: '+-:', argv: ['/bin/true'] });
  });

  it('stops taking prefixes at a repeated or incompatible one', () => {
    expect(() => parseExecLine('--/bin/true')).toThrow(/executable "-\/bin\/true" is neither/);
    expect(parseExecLine('+!x').prefixes).toBe('+');
  });

  it('treats \\; as a literal ; argument and refuses a second command', () => {
    expect(splitExecLine('/bin/find . -exec rm {} \\;')).toEqual(['/bin/find', '.', '-exec', 'rm', '{}', ';']);
    expect(splitExecLine('/bin/echo ";" a;b \\;x')).toEqual(['/bin/echo', ';', 'a;b', '\\;x']);
    expect(() => splitExecLine('/bin/true ; /bin/false')).toThrow(/second command/);
    expect(() => splitExecLine('/bin/true ;')).toThrow(/second command/);
  });

  it('refuses unterminated quotes with ExecLineError', () => {
    expect(() => splitExecLine('/bin/echo "abc')).toThrow(ExecLineError);
    expect(() => splitExecLine("/bin/echo 'abc")).toThrow(/unterminated single quote/);
    expect(() => splitExecLine('/bin/echo "abc\\"')).toThrow(/unterminated double quote/);
  });

  it('refuses empty lines and bad executables', () => {
    expect(() => splitExecLine('   ')).toThrow(/empty/);
    expect(() => splitExecLine('-')).toThrow(/no executable/);
    expect(() => splitExecLine('; /bin/true')).toThrow(/starts with ";"/);
    expect(() => splitExecLine('"/bin/a\\"b"')).toThrow(/quotes/);
    expect(() => splitExecLine('/usr/bin/ x')).toThrow(/directory/);
    expect(() => splitExecLine('bin/sh x')).toThrow(/neither an absolute path nor a plain file name/);
    expect(() => splitExecLine('/bin/echo a\0')).toThrow(/NUL/);
  });

  it('expands specifiers per word with the given expander, after unquoting', () => {
    const expand = (word: string): string => expandSpecifiers(word, 'web@8080.service');
    expect(splitExecLine('/usr/bin/docker run --name %p-%i "%n x" %%i $$%%', expand)).toEqual([
      '/usr/bin/docker', 'run', '--name', 'web-8080', 'web@8080.service x', '%i', '$%',
    ]);
  });
});

describe('renderExecLine', () => {
  it('leaves plain words unquoted', () => {
    expect(renderExecLine(['/usr/bin/docker', 'run', '--name', 'web', '-p', '8080:80', 'busybox'])).toBe(
      '/usr/bin/docker run --name web -p 8080:80 busybox',
    );
  });

  it('quotes and escapes what needs it', () => {
    expect(renderExecLine(['/bin/echo', 'a b', '', 'x"y', 'back\\slash', 'new\nline', 'tab\t', 'bell\u0007', 'c1\u0085', 'ls\u2028'])).toBe(
      '/bin/echo "a b" "" "x\\"y" "back\\\\slash" "new\\nline" "tab\\t" "bell\\x07" "c1\\u0085" "ls\\u2028"',
    );
  });

  it('doubles % and $, and escapes a lone ;', () => {
    expect(renderExecLine(['/bin/echo', '100%', '$HOME', ';', 'a;b'])).toBe('/bin/echo 100%% $$HOME \\; "a;b"');
  });

  it('keeps $ single with the : prefix', () => {
    const line = renderExecLine(['/bin/echo', '$HOME'], ':');
    expect(line).toBe(':/bin/echo $HOME');
    expect(parseExecLine(line)).toEqual({ prefixes: ':', argv: ['/bin/echo', '$HOME'] });
  });

  it('writes prefixes before the executable', () => {
    expect(renderExecLine(['/usr/bin/docker', 'rm', '-f', 'web'], '-')).toBe('-/usr/bin/docker rm -f web');
    expect(renderExecLine(['/opt/my app/run'], '-')).toBe('-"/opt/my app/run"');
    expect(parseExecLine('-"/opt/my app/run"')).toEqual({ prefixes: '-', argv: ['/opt/my app/run'] });
  });

  it('refuses what systemd cannot express', () => {
    expect(() => renderExecLine([])).toThrow(ExecLineError);
    expect(() => renderExecLine(['-x'])).toThrow(/prefix character/);
    expect(() => renderExecLine(['@x'])).toThrow(/prefix character/);
    expect(() => renderExecLine([''])).toThrow(/no executable/);
    expect(() => renderExecLine([';'])).toThrow(/starts with ";"/);
    expect(() => renderExecLine(['/bin/"x'])).toThrow(/quotes/);
    expect(() => renderExecLine(['/bin/$x'])).toThrow(/quotes/);
    expect(() => renderExecLine(['/bin/echo', 'a\0b'])).toThrow(/NUL/);
    expect(() => renderExecLine(['/bin/echo', '\uD800'])).toThrow(/Unicode/);
    expect(() => renderExecLine(['/bin/true'], 'x')).toThrow(/prefixes/);
    expect(() => renderExecLine(['/bin/true'], '--')).toThrow(/prefixes/);
  });
});

describe('renderExecLine ∘ parseExecLine (property)', () => {
  const executables = ['/usr/bin/docker', '/bin/echo', 'docker', '/opt/my app/bin', '/usr/bin/100%', '/x/é'];
  const prefixChoices = ['', '', '', '-', ':', '-:', '+', '!!', '@'];

  it('gives back any argv exactly, on one line without control characters', () => {
    const random = seededRandom(20240611);
    for (let i = 0; i < 5000; i += 1) {
      const argv = [pick(random, executables)];
      const count = integer(random, 0, 6);
      for (let j = 0; j < count; j += 1) argv.push(nastyString(random));
      const prefixes = pick(random, prefixChoices);
      const line = renderExecLine(argv, prefixes);
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(line).toBe(line.trim());
      expect(line.endsWith('\\')).toBe(false);
      const parsed = parseExecLine(line);
      if (parsed.prefixes !== prefixes || parsed.argv.length !== argv.length || parsed.argv.some((w, k) => w !== argv[k])) {
        throw new Error(`round trip failed for ${JSON.stringify(argv)} (${prefixes}): ${line} → ${JSON.stringify(parsed)}`);
      }
    }
  });

  it('survives a specifier expander: only %% is special in rendered text', () => {
    const random = seededRandom(7);
    const expand = (word: string): string => expandSpecifiers(word, 'web@1.service');
    for (let i = 0; i < 2000; i += 1) {
      const argv = ['/bin/echo', nastyString(random), nastyString(random)];
      expect(splitExecLine(renderExecLine(argv), expand)).toEqual(argv);
    }
  });
});
