/** Unit names as fleet accepts them, their parts, and systemd's name specifiers. */

export const MAX_UNIT_NAME_LENGTH = 256;

/** Unit type suffixes fleet accepts (without the dot). */
export const UNIT_SUFFIXES: readonly string[] = [
  'service', 'socket', 'timer', 'path', 'target', 'mount', 'automount',
  'device', 'scope', 'slice', 'snapshot', 'swap', 'busname',
];

/** Unit types that may be templates or instances (names with `@`). */
export const TEMPLATE_SUFFIXES: readonly string[] = ['path', 'service', 'socket', 'target', 'timer'];

const VALID_CHAR = /^[A-Za-z0-9:_.@-]$/;

/** The pieces of `prefix@instance.suffix` (or `prefix.suffix`). */
export interface UnitNameParts {
  /** Before the first `@`, or the whole name without its suffix. */
  prefix: string;
  /** Between `@` and the suffix: '' for a template, null when the name has no `@`. */
  instance: string | null;
  /** The type, without the dot: `service`. */
  suffix: string;
  /** The name without its suffix, with systemd's `\xNN` escapes decoded. */
  unescapedName: string;
}

/** Why `name` is not a valid unit name, or null when it is. */
export function unitNameProblem(name: string): string | null {
  if (name === '') return 'unit name is empty';
  if (name.length > MAX_UNIT_NAME_LENGTH) {
    return `unit name is longer than ${MAX_UNIT_NAME_LENGTH} characters`;
  }
  const bad = [...name].find((char) => !VALID_CHAR.test(char));
  if (bad !== undefined) return `unit name "${name}" contains invalid character ${JSON.stringify(bad)}`;
  if (name.startsWith('@')) return `unit name "${name}" starts with "@"`;
  const dot = name.lastIndexOf('.');
  const suffix = dot < 0 ? '' : name.slice(dot + 1);
  if (!UNIT_SUFFIXES.includes(suffix)) {
    return `unit name "${name}" must end in a unit type such as .service (got "${suffix}")`;
  }
  if (dot === 0) return `unit name "${name}" has nothing before .${suffix}`;
  if (name.includes('@') && !TEMPLATE_SUFFIXES.includes(suffix)) {
    return `unit name "${name}": only ${TEMPLATE_SUFFIXES.join(', ')} units may contain "@"`;
  }
  return null;
}

/** `web@.service`, `web@1.service`, `web.service` → parts. Works on any string. */
export function unitNameParts(name: string): UnitNameParts {
  const dot = name.lastIndexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const suffix = dot < 0 ? '' : name.slice(dot + 1);
  const at = base.indexOf('@');
  return {
    prefix: at < 0 ? base : base.slice(0, at),
    instance: at < 0 ? null : base.slice(at + 1),
    suffix,
    unescapedName: unescapeUnitName(base),
  };
}

/** True for a template name such as `foo@.service`. */
export function isTemplateName(name: string): boolean {
  const { instance, prefix, suffix } = unitNameParts(name);
  return instance === '' && prefix !== '' && suffix !== '';
}

/** `foo@1.service` → `foo@.service`; null for names that are not instances. */
export function templateOf(name: string): string | null {
  const { prefix, instance, suffix } = unitNameParts(name);
  if (instance === null || instance === '' || prefix === '' || suffix === '') return null;
  return `${prefix}@.${suffix}`;
}

/** Decode systemd's `\xNN` escapes (valid unit names never contain them). */
function unescapeUnitName(text: string): string {
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Expand systemd name specifiers in `value` for unit `unitName`: %n (full name),
 * %N (name without suffix), %p (prefix), %i (instance), %P / %I (unescaped prefix /
 * instance), %% (a literal %). Unknown specifiers and a trailing lone % are kept.
 */
export function expandSpecifiers(value: string, unitName: string): string {
  const parts = unitNameParts(unitName);
  const base = unitName.slice(0, unitName.length - (parts.suffix === '' ? 0 : parts.suffix.length + 1));
  const values: Record<string, string> = {
    n: unitName,
    N: base,
    p: parts.prefix,
    i: parts.instance ?? '',
    P: unescapeUnitName(parts.prefix),
    I: unescapeUnitName(parts.instance ?? ''),
    '%': '%',
  };
  return value.replace(/%(.)/gsu, (whole, letter: string) =>
    Object.prototype.hasOwnProperty.call(values, letter) ? values[letter] : whole,
  );
}
