import { createHash } from 'node:crypto';
import {
  MAX_OPTION_LINE_BYTES,
  type UnitOption,
  UnitFileError,
  joinContinuationLines,
  optionLineTooLong,
  parseUnitFile,
  serializeUnit,
  unitHash,
  unitOptionProblem,
} from '../../units/unit-file';

const opt = (section: string, name: string, value: string): UnitOption => ({ section, name, value });

describe('parseUnitFile', () => {
  it('reads sections and options in order', () => {
    const text = '[Unit]\nDescription=Hello World\n\n[Service]\nExecStart=/usr/bin/docker run busybox\nRestart=always\n';
    expect(parseUnitFile(text)).toEqual([
      opt('Unit', 'Description', 'Hello World'),
      opt('Service', 'ExecStart', '/usr/bin/docker run busybox'),
      opt('Service', 'Restart', 'always'),
    ]);
  });

  it('skips # and ; comments and blank lines, and strips a BOM', () => {
    const text = '\uFEFF# top\n; also\n[Unit]\n  # indented comment\n\nDescription=x # not a comment\n';
    expect(parseUnitFile(text)).toEqual([opt('Unit', 'Description', 'x # not a comment')]);
  });

  it('trims keys and values of spaces and tabs only', () => {
    expect(parseUnitFile('[Unit]\n  Description \t=  \t a  b \t \n')).toEqual([opt('Unit', 'Description', 'a  b')]);
    expect(parseUnitFile('[Unit]\nDescription=\u00a0x\u00a0\n')).toEqual([opt('Unit', 'Description', '\u00a0x\u00a0')]);
  });

  it('keeps = signs after the first in the value and allows empty values', () => {
    expect(parseUnitFile('[S]\nEnvironment=A=B=C\nExecStart=\n')).toEqual([
      opt('S', 'Environment', 'A=B=C'),
      opt('S', 'ExecStart', ''),
    ]);
  });

  it('joins continuation lines, replacing the backslash with a space', () => {
    const text = '[Service]\nExecStart=/usr/bin/docker run \\\n   --name web \\\n   busybox\nRestart=no\n';
    expect(parseUnitFile(text)).toEqual([
      opt('Service', 'ExecStart', '/usr/bin/docker run     --name web     busybox'),
      opt('Service', 'Restart', 'no'),
    ]);
  });

  it('ignores comment lines inside a continuation, as systemd does', () => {
    const text = '[S]\nKey=one\\\n# ignored\n; ignored too\n  two\n';
    expect(parseUnitFile(text)).toEqual([opt('S', 'Key', 'one   two')]);
  });

  it('treats an even run of trailing backslashes as literal', () => {
    expect(parseUnitFile('[S]\nA=x\\\\\nB=y\n')).toEqual([opt('S', 'A', 'x\\\\'), opt('S', 'B', 'y')]);
    expect(parseUnitFile('[S]\nA=x\\\\\\\nB=y\n')).toEqual([opt('S', 'A', 'x\\\\ B=y')]);
  });

  it('ends a continuation at a blank line and at end of file', () => {
    expect(parseUnitFile('[S]\nA=x\\\n\nB=y')).toEqual([opt('S', 'A', 'x'), opt('S', 'B', 'y')]);
    expect(parseUnitFile('[S]\nA=x\\')).toEqual([opt('S', 'A', 'x')]);
  });

  it('accepts CRLF and CR line endings', () => {
    expect(parseUnitFile('[S]\r\nA=1\r\nB=2\rC=3')).toEqual([opt('S', 'A', '1'), opt('S', 'B', '2'), opt('S', 'C', '3')]);
  });

  it('keeps repeated sections and options', () => {
    expect(parseUnitFile('[A]\nX=1\n[B]\nY=2\n[A]\nX=3\n')).toEqual([opt('A', 'X', '1'), opt('B', 'Y', '2'), opt('A', 'X', '3')]);
  });

  it.each([
    ['an option before any section', 'Description=x\n', /line 1: option "Description" appears before any \[Section\]/],
    ['a line without =', '[Unit]\njunk\n', /line 2: expected Name=Value/],
    ['an unterminated section header', '[Unit\n', /line 1: invalid section header/],
    ['an empty section name', '[]\n', /section name is empty/],
    ['a nested bracket', '[a]b]\n', /invalid section name/],
    ['an empty option name', '[S]\n=x\n', /option name is empty/],
    ['an option name with spaces', '[S]\nfoo bar=x\n', /invalid option name "foo bar"/],
    ['.include', '[S]\n.include /etc/x\n', /\.include/],
  ])('throws UnitFileError on %s', (_, text, message) => {
    expect(() => parseUnitFile(text)).toThrow(UnitFileError);
    expect(() => parseUnitFile(text)).toThrow(message);
  });

  it('reports the line where a continued option started', () => {
    expect(() => parseUnitFile('[S]\nA=1\nbad \\\nline\n')).toThrow(/^line 3: /);
  });

  it('returns nothing for an empty file or only comments', () => {
    expect(parseUnitFile('')).toEqual([]);
    expect(parseUnitFile('# nothing\n\n')).toEqual([]);
  });
});

describe('serializeUnit', () => {
  it('writes sections in first-seen order with a blank line between them, as fleet does', () => {
    const options = [opt('Unit', 'Description', 'd'), opt('Service', 'ExecStart', '/bin/true'), opt('Unit', 'After', 'x'), opt('X-Fleet', 'Global', 'true')];
    expect(serializeUnit(options)).toBe('[Unit]\nDescription=d\nAfter=x\n\n[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n');
  });

  it('serializes nothing as the empty string', () => {
    expect(serializeUnit([])).toBe('');
  });

  it('round-trips through parseUnitFile', () => {
    const options = [opt('Unit', 'Description', 'a [b] = c # d ; e'), opt('Service', 'ExecStart', '/bin/echo "x\\ny"'), opt('Service', 'Empty', '')];
    expect(parseUnitFile(serializeUnit(options))).toEqual(options);
  });
});

describe('unitHash', () => {
  it('is the SHA-1 of the serialization', () => {
    const options = [opt('Service', 'ExecStart', '/usr/bin/sleep 1d')];
    expect(unitHash(options)).toBe(createHash('sha1').update('[Service]\nExecStart=/usr/bin/sleep 1d\n').digest('hex'));
  });

  it('matches a known value and changes when an option changes', () => {
    const hello = [opt('Service', 'ExecStart', '/bin/echo hello')];
    expect(unitHash(hello)).toBe('8daa86f86b3e3c3db11120ce1856eb7048da03ed');
    expect(unitHash([opt('Service', 'ExecStart', '/bin/echo hell0')])).not.toBe(unitHash(hello));
    expect(unitHash([])).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
});

describe('optionLineTooLong', () => {
  it('allows Name=Value of exactly 2048 bytes and refuses 2049', () => {
    const name = 'ExecStart';
    const fits = 'x'.repeat(MAX_OPTION_LINE_BYTES - name.length - 1);
    expect(optionLineTooLong(opt('Service', name, fits))).toBe(false);
    expect(optionLineTooLong(opt('Service', name, `${fits}x`))).toBe(true);
  });

  it('counts bytes, not characters', () => {
    const name = 'Description';
    const chars = Math.floor((MAX_OPTION_LINE_BYTES - name.length - 1) / 2);
    expect(optionLineTooLong(opt('Unit', name, 'é'.repeat(chars)))).toBe(false);
    expect(optionLineTooLong(opt('Unit', name, 'é'.repeat(chars + 1)))).toBe(true);
  });

  it('checks each physical line of a continued value', () => {
    const long = `a \\\n${'x'.repeat(2000)} \\\n${'y'.repeat(2000)}`;
    expect(optionLineTooLong(opt('Service', 'ExecStart', long))).toBe(false);
  });
});

describe('joinContinuationLines', () => {
  it('leaves single-line values alone', () => {
    expect(joinContinuationLines(' a \\ b ')).toBe(' a \\ b ');
  });

  it('joins go-systemd continuations as systemd reads them', () => {
    expect(joinContinuationLines('/usr/bin/docker run \\\n  --rm \\\n# note \\\n  busybox')).toBe('/usr/bin/docker run    --rm    busybox');
  });
});

describe('unitOptionProblem', () => {
  it('accepts ordinary options and go-systemd continuations', () => {
    expect(unitOptionProblem(opt('Service', 'ExecStart', '/bin/true'))).toBeNull();
    expect(unitOptionProblem(opt('Service', 'ExecStart', '/bin/echo \\\n  hi'))).toBeNull();
    expect(unitOptionProblem(opt('X-Fleet', 'MachineOf', ''))).toBeNull();
  });

  it.each([
    ['an injected directive', opt('Service', 'ExecStart', '/bin/true\nExecStartPre=/bin/evil'), /line break that is not a continuation/],
    ['a carriage return', opt('Service', 'ExecStart', '/bin/true\r'), /carriage return/],
    ['NUL', opt('Service', 'ExecStart', 'x\0'), /NUL/],
    ['a trailing backslash', opt('Service', 'Description', 'ends with \\'), /ends with a backslash/],
    ['a bad option name', opt('Service', 'Bad=Name', 'x'), /invalid option name/],
    ['a bad section name', opt('Ser]vice', 'X', 'x'), /invalid section name/],
    ['an empty section name', opt('', 'X', 'x'), /section name is empty/],
    ['a long line', opt('S', 'X', 'y'.repeat(3000)), /longer than 2048 bytes/],
  ])('refuses %s', (_, option, message) => {
    expect(unitOptionProblem(option)).toMatch(message);
  });
});
