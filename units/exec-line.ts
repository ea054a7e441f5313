/**
 * systemd command lines (`ExecStart=` values): rendering an argv so systemd reads it
 * back verbatim, and parsing one the way systemd does. The parser follows
 * systemd's config_parse_exec: split into words (quotes, C escapes), strip the
 * first word's prefixes, expand `%` specifiers per word, then `$` substitution.
 */

export class ExecLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecLineError';
  }
}

/** A parsed command line: the first word's prefixes (`-@:+!`) and every word, executable first. */
export interface ExecLine {
  prefixes: string;
  argv: string[];
}

/** Expands `%` specifiers in one word; see expandPercentOnly and unit-name's expandSpecifiers. */
export type SpecifierExpander = (word: string) => string;

const WHITESPACE = ' \t\n\r';
const PREFIX_CHARS = '-@:+!';
const UNQUOTED_SAFE = /^[A-Za-z0-9_@%+=:,./$-]+$/;
const UNSAFE_IN_EXECUTABLE = /[\u0000-\u001f\u007f"'\\$]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The default expander: `%%` becomes `%`, any other specifier is kept as written. */
export function expandPercentOnly(word: string): string {
  return word.replace(/%%/g, '%');
}

function isWhitespace(char: string | undefined): boolean {
  return char !== undefined && WHITESPACE.includes(char);
}

/** Length of the prefix run at the start of `word`, by systemd's rules (each once; `+` excludes `!`). */
function prefixLength(word: string): number {
  const seen = new Set<string>();
  let bangs = 0;
  let length = 0;
  for (const char of word) {
    if ((char === '-' || char === '@' || char === ':') && !seen.has(char)) seen.add(char);
    else if (char === '+' && !seen.has('+') && bangs === 0) seen.add(char);
    else if (char === '!' && !seen.has('+') && bangs < 2) bangs += 1;
    else break;
    length += 1;
  }
  return length;
}

function executableProblem(executable: string): string | null {
  if (executable === '') return 'the command line has no executable';
  if (executable === ';') return 'the command line starts with ";"';
  if (UNSAFE_IN_EXECUTABLE.test(executable)) return `executable "${executable}" contains quotes, "\\", "$" or control characters`;
  if (executable.endsWith('/')) return `executable "${executable}" is a directory`;
  if (!executable.startsWith('/') && (executable.includes('/') || executable === '.' || executable === '..')) {
    return `executable "${executable}" is neither an absolute path nor a plain file name`;
  }
  return null;
}

const HEX = /^[0-9a-fA-F]+$/;

/** Decode one C escape at `text[at]` (after the backslash): bytes and characters consumed, or null. */
function decodeEscape(text: string, at: number): { bytes: number[]; length: number } | null {
  const simple: Record<string, number> = {
    a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39, s: 32,
  };
  const char = text.charAt(at);
  if (Object.prototype.hasOwnProperty.call(simple, char)) return { bytes: [simple[char]], length: 1 };
  const hexEscape = (digits: number): number | null => {
    const hex = text.slice(at + 1, at + 1 + digits);
    return hex.length === digits && HEX.test(hex) ? parseInt(hex, 16) : null;
  };
  if (char === 'x') {
    const byte = hexEscape(2);
    return byte === null || byte === 0 ? null : { bytes: [byte], length: 3 };
  }
  if (char === 'u' || char === 'U') {
    const codePoint = hexEscape(char === 'u' ? 4 : 8);
    if (codePoint === null || codePoint === 0 || codePoint > 0x10ffff) return null;
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) return null;
    return { bytes: [...Buffer.from(String.fromCodePoint(codePoint), 'utf8')], length: char === 'u' ? 5 : 9 };
  }
  const octal = text.slice(at, at + 3);
  if (/^[0-7]{3}$/.test(octal)) {
    const byte = parseInt(octal, 8);
    return byte === 0 || byte > 255 ? null : { bytes: [byte], length: 3 };
  }
  return null;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads one word from `line` at `start` like systemd's extract_first_word(UNQUOTE|CUNESCAPE). */
function readWord(line: string, start: number): { word: string; end: number } {
  const bytes: number[] = [];
  const pushText = (text: string): void => {
    bytes.push(...Buffer.from(text, 'utf8'));
  };
  let quote = '';
  let pos = start;
  while (pos < line.length) {
    const char = String.fromCodePoint(line.codePointAt(pos) as number);
    if (char === '\\') {
      if (pos + 1 >= line.length) {
        if (quote) break;
        pushText('\\'); // systemd keeps an unquoted trailing backslash
        pos += 1;
        continue;
      }
      const escape = decodeEscape(line, pos + 1);
      if (escape) {
        bytes.push(...escape.bytes);
        pos += 1 + escape.length;
      } else {
        // Unknown escape: systemd warns and keeps it verbatim.
        const next = String.fromCodePoint(line.codePointAt(pos + 1) as number);
        pushText(`\\${next}`);
        pos += 1 + next.length;
      }
      continue;
    }
    if (quote) {
      if (char === quote) quote = '';
      else pushText(char);
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (isWhitespace(char)) {
      break;
    } else {
      pushText(char);
    }
    pos += char.length;
  }
  if (quote) throw new ExecLineError(`unterminated ${quote === '"' ? 'double' : 'single'} quote in command line`);
  try {
    return { word: UTF8.decode(Uint8Array.from(bytes)), end: pos };
  } catch {
    throw new ExecLineError('command line escapes do not decode to valid UTF-8');
  }
}

function skipWhitespace(line: string, pos: number): number {
  let next = pos;
  while (next < line.length && isWhitespace(line[next])) next += 1;
  return next;
}

/** systemd's `$` handling at exec time: `$$` is `$`; variable references are refused. */
function substituteDollars(word: string): string {
  if (word.startsWith('$') && word[1] !== '$' && word[1] !== '{') {
    throw new ExecLineError(`environment variable "${word}" is not supported; write $$ for a literal $`);
  }
  let out = '';
  for (let i = 0; i < word.length; i += 1) {
    if (word[i] !== '$') {
      out += word[i];
    } else if (word[i + 1] === '$') {
      out += '$';
      i += 1;
    } else if (word[i + 1] === '{') {
      throw new ExecLineError(`environment variable reference in "${word}" is not supported; write $$ for a literal $`);
    } else {
      out += '$';
    }
  }
  return out;
}

/**
 * Parse an `ExecStart=`-style value into prefixes and words, as systemd does.
 * `expandWord` resolves `%` specifiers in each word (default: only `%%`). `$$`
 * becomes `$` unless the `:` prefix is given; `$VAR`/`${VAR}` references, a second
 * command after a lone `;`, and unterminated quotes throw ExecLineError.
 */
export function parseExecLine(line: string, expandWord: SpecifierExpander = expandPercentOnly): ExecLine {
  if (line.includes('\0')) throw new ExecLineError('command line contains NUL');
  if (LONE_SURROGATE.test(line)) throw new ExecLineError('command line is not valid Unicode');
  let pos = skipWhitespace(line, 0);
  if (pos >= line.length) throw new ExecLineError('command line is empty');
  const first = readWord(line, pos);
  pos = first.end;
  const prefixes = first.word.slice(0, prefixLength(first.word));
  const executable = expandWord(first.word.slice(prefixes.length));
  const problem = executableProblem(first.word === ';' ? ';' : executable);
  if (problem) throw new ExecLineError(problem);
  const words = [executable];
  for (pos = skipWhitespace(line, pos); pos < line.length; pos = skipWhitespace(line, pos)) {
    const atWordEnd = (at: number): boolean => at >= line.length || isWhitespace(line[at]);
    if (line[pos] === ';' && atWordEnd(pos + 1)) {
      throw new ExecLineError('";" starts a second command; only one is allowed (write \\; for a literal ";")');
    }
    if (line[pos] === '\\' && line[pos + 1] === ';' && atWordEnd(pos + 2)) {
      words.push(';');
      pos += 2;
      continue;
    }
    const next = readWord(line, pos);
    words.push(expandWord(next.word));
    pos = next.end;
  }
  const argv = prefixes.includes(':') ? words : words.map((w, i) => (i === 0 ? w : substituteDollars(w)));
  return { prefixes, argv };
}

/** The words of a command line (executable first); prefixes are dropped, see parseExecLine. */
export function splitExecLine(line: string, expandWord?: SpecifierExpander): string[] {
  return parseExecLine(line, expandWord).argv;
}

function escapeChar(char: string): string {
  const code = char.codePointAt(0) as number;
  switch (char) {
    case '\\': return '\\\\';
    case '"': return '\\"';
    case '\n': return '\\n';
    case '\t': return '\\t';
    case '\r': return '\\r';
    default:
      if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
      if ((code >= 0x80 && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
        return `\\u${code.toString(16).padStart(4, '0')}`;
      }
      return char;
  }
}

function renderWord(word: string, doubleDollars: boolean): string {
  if (word === ';') return '\\;';
  if (word.includes('\0')) throw new ExecLineError('a command line argument cannot contain NUL');
  if (LONE_SURROGATE.test(word)) throw new ExecLineError('a command line argument is not valid Unicode');
  let text = word.replace(/%/g, '%%');
  if (doubleDollars) text = text.replace(/\$/g, '$$$$');
  if (UNQUOTED_SAFE.test(word)) return text;
  return `"${[...text].map(escapeChar).join('')}"`;
}

/**
 * Render argv as one line that parseExecLine reads back exactly: arguments that
 * need it are double-quoted with C escapes, `%` is doubled, `$` is doubled (unless
 * the `:` prefix is given), a lone `;` becomes `\;`. The result holds no control
 * characters or line breaks. Arguments may be any valid Unicode without NUL; the
 * executable must not start with a prefix character or contain quotes, `\`, `$`
 * or control characters (systemd cannot express those).
 */
export function renderExecLine(argv: readonly string[], prefixes = ''): string {
  const [executable, ...args] = argv;
  if (executable === undefined) throw new ExecLineError('cannot render an empty command line');
  if (prefixLength(prefixes) !== prefixes.length) throw new ExecLineError(`invalid command prefixes "${prefixes}"`);
  if (executable !== '' && PREFIX_CHARS.includes(executable.charAt(0))) {
    throw new ExecLineError(`executable "${executable}" starts with a prefix character`);
  }
  const problem = executableProblem(executable);
  if (problem) throw new ExecLineError(problem);
  const doubleDollars = !prefixes.includes(':');
  return prefixes + [renderWord(executable, false), ...args.map((arg) => renderWord(arg, doubleDollars))].join(' ');
}
