/**
 * systemd unit files as fleet sees them: a flat, ordered list of options.
 * Parsing follows systemd's config parser; serialization and hashing follow fleet
 * (go-systemd's serializer), so hashes match what `fleetctl` shows.
 */
import { createHash } from 'node:crypto';
import {
  endsWithContinuation,
  MAX_OPTION_LINE_BYTES,
  isCommentLine,
  optionNameProblem,
  sectionNameProblem,
  stripSystemdWhitespace,
  type UnitOption,
} from './unit-file-parse';

export { MAX_OPTION_LINE_BYTES, parseUnitFile, UnitFileError, type UnitOption } from './unit-file-parse';

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
