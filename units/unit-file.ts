/**
 * systemd unit files as fleet sees them: a flat, ordered list of options.
 * Parsing follows systemd's config parser; serialization and hashing follow fleet
 * (go-systemd's serializer), so hashes match what `fleetctl` shows.
 */
import { createHash } from 'node:crypto';

export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

/** A unit file that systemd would refuse or misread; `line` is 1-based. */
export class UnitFileError extends Error {
  constructor(message: string, readonly line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'UnitFileError';
  }
}

/** fleet refuses any serialized option line longer than this many bytes. */
export const MAX_OPTION_LINE_BYTES = 2048;

const OPTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// C0 controls, DEL and C1 controls.
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;

/** systemd's WHITESPACE set: only these are trimmed, never other Unicode spaces. */
function stripSystemdWhitespace(text: string): string {
  return text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
}

function isCommentLine(line: string): boolean {
  const first = line.replace(/^[ \t\n\r]+/, '').charAt(0);
  return first === '#' || first === ';';
}

/** True when the line ends in an unescaped backslash (an odd run of them). */
function endsWithContinuation(line: string): boolean {
  const run = /\\+$/.exec(line);
  return run !== null && run[0].length % 2 === 1;
}

function sectionNameProblem(name: string): string | null {
  if (name === '') return 'section name is empty';
  if (/[[\]]/.test(name) || CONTROL_CHAR.test(name)) return `invalid section name "${name}"`;
  return null;
}

function optionNameProblem(name: string): string | null {
  if (name === '') return 'option name is empty';
  if (!OPTION_NAME.test(name)) return `invalid option name "${name}"`;
  return null;
}

/**
 * Parse unit file text the way systemd does: `[Section]` headers, `Name=Value` lines,
 * `#`/`;` comment lines (skipped even inside continuations), a trailing unescaped
 * backslash joins the next line (the backslash becomes a space), keys and values are
 * trimmed of spaces, tabs, CR and LF. Throws UnitFileError on anything else.
 */
export function parseUnitFile(text: string): UnitOption[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const options: UnitOption[] = [];
  let section: string | null = null;
  let continuation: string | null = null;
  let continuationStart = 0;

  const parseLine = (raw: string, lineNumber: number): void => {
    const line = stripSystemdWhitespace(raw);
    if (line === '') return;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new UnitFileError(`invalid section header "${line}"`, lineNumber);
      const name = line.slice(1, -1);
      const problem = sectionNameProblem(name);
      if (problem) throw new UnitFileError(problem, lineNumber);
      section = name;
      return;
    }
    if (line.startsWith('.include')) throw new UnitFileError('.include is not supported', lineNumber);
    const equals = line.indexOf('=');
    if (equals < 0) throw new UnitFileError(`expected Name=Value, got "${line}"`, lineNumber);
    const name = stripSystemdWhitespace(line.slice(0, equals));
    const problem = optionNameProblem(name);
    if (problem) throw new UnitFileError(problem, lineNumber);
    if (section === null) throw new UnitFileError(`option "${name}" appears before any [Section]`, lineNumber);
    options.push({ section, name, value: stripSystemdWhitespace(line.slice(equals + 1)) });
  };

  for (const [index, raw] of lines.entries()) {
    if (isCommentLine(raw)) continue;
    if (continuation === null) continuationStart = index + 1;
    const joined: string = continuation === null ? raw : continuation + raw;
    if (endsWithContinuation(joined)) {
      continuation = `${joined.slice(0, -1)} `;
      continue;
    }
    continuation = null;
    parseLine(joined, continuationStart);
  }
  if (continuation !== null) parseLine(continuation, continuationStart);
  return options;
}

/**
 * Serialize exactly as fleet (go-systemd) does: sections in first-seen order, each
 * `[Section]\n` then its `Name=Value\n` lines, one blank line between sections.
 */
export function serializeUnit(options: readonly UnitOption[]): string {
  const bySection = new Map<string, UnitOption[]>();
  for (const option of options) {
    const list = bySection.get(option.section);
    if (list) list.push(option);
    else bySection.set(option.section, [option]);
  }
  return [...bySection.entries()]
    .map(([section, list]) => `[${section}]\n${list.map((o) => `${o.name}=${o.value}\n`).join('')}`)
    .join('\n');
}

/** fleet's unit hash: SHA-1 (hex) of the serialized options. */
export function unitHash(options: readonly UnitOption[]): string {
  return createHash('sha1').update(serializeUnit(options), 'utf8').digest('hex');
}

/** True when some physical line of `Name=Value` exceeds MAX_OPTION_LINE_BYTES. */
export function optionLineTooLong(option: UnitOption): boolean {
  return `${option.name}=${option.value}`
    .split('\n')
    .some((line) => Buffer.byteLength(line, 'utf8') > MAX_OPTION_LINE_BYTES);
}

/**
 * The value as systemd reads it. Values received through fleet's API may hold
 * go-systemd's raw continuations (`\` + newline); systemd joins those lines (the
 * backslash becomes a space) and skips comment lines between them.
 */
export function joinContinuationLines(value: string): string {
  if (!value.includes('\n')) return value;
  const [first, ...rest] = value.split('\n');
  let joined = first ?? '';
  for (const line of rest) {
    if (isCommentLine(line)) continue;
    joined = endsWithContinuation(joined) ? `${joined.slice(0, -1)} ${line}` : `${joined}\n${line}`;
  }
  return stripSystemdWhitespace(endsWithContinuation(joined) ? `${joined.slice(0, -1)} ` : joined);
}

/**
 * Why an option cannot be stored as a unit line, or null. Catches everything that
 * would not survive serializeUnit → parseUnitFile as the same single directive:
 * bad section or option names, CR/NUL, a newline that is not a continuation (it
 * would start a new directive), a trailing backslash (it would swallow the next
 * line), and lines over MAX_OPTION_LINE_BYTES.
 */
export function unitOptionProblem(option: UnitOption): string | null {
  const sectionProblem = sectionNameProblem(option.section);
  if (sectionProblem) return sectionProblem;
  const nameProblem = optionNameProblem(option.name);
  if (nameProblem) return nameProblem;
  const { name, value } = option;
  if (/[\r\0]/.test(value)) return `${name}= contains a carriage return or NUL`;
  const lines = value.split('\n');
  const last = lines.pop() ?? '';
  if (lines.some((line) => !endsWithContinuation(line))) {
    return `${name}= contains a line break that is not a continuation`;
  }
  if (endsWithContinuation(last)) return `${name}= ends with a backslash`;
  if (optionLineTooLong(option)) return `${name}= line is longer than ${MAX_OPTION_LINE_BYTES} bytes`;
  return null;
}
