/**
 * Parsing systemd unit files as fleet sees them: a flat, ordered list of options. No Node module
 * is used here, so the dashboard's bundle (ui/) parses a unit file with this same code.
 */
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
export function stripSystemdWhitespace(text: string): string {
  return text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
}

export function isCommentLine(line: string): boolean {
  const first = line.replace(/^[ \t\n\r]+/, '').charAt(0);
  return first === '#' || first === ';';
}

/** True when the line ends in an unescaped backslash (an odd run of them). */
export function endsWithContinuation(line: string): boolean {
  const run = /\\+$/.exec(line);
  return run !== null && run[0].length % 2 === 1;
}

export function sectionNameProblem(name: string): string | null {
  if (name === '') return 'section name is empty';
  if (/[[\]]/.test(name) || CONTROL_CHAR.test(name)) return `invalid section name "${name}"`;
  return null;
}

export function optionNameProblem(name: string): string | null {
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
