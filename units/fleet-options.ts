/**
 * fleet's `[X-Fleet]` scheduling options: reading them as fleet does and refusing the
 * combinations fleet's API answers with 400.
 */
import { matchUnitGlob } from './unit-glob';
import { type UnitOption, unitOptionProblem } from './unit-file';
import { expandSpecifiers } from './unit-name';

export interface FleetRequirements {
  /** Full or 8-character machine id the unit is pinned to. */
  machineId?: string;
  /** key → accepted values (ORed); different keys are ANDed. */
  metadata: Record<string, string[]>;
  /** Globs of units that must not share a machine with this one. */
  conflicts: string[];
  /** Units whose machine this one must run on. */
  machineOf: string[];
  /** Globs of units this one replaces. */
  replaces: string[];
  /** Run on every matching machine. */
  global: boolean;
}

type FleetKey = 'MachineID' | 'MachineOf' | 'MachineMetadata' | 'Conflicts' | 'Replaces' | 'Global';

/** Option names, including fleet's deprecated `X-Condition...` spellings. */
const FLEET_KEYS: Record<string, FleetKey> = {
  MachineID: 'MachineID',
  'X-ConditionMachineID': 'MachineID',
  MachineOf: 'MachineOf',
  'X-ConditionMachineOf': 'MachineOf',
  MachineMetadata: 'MachineMetadata',
  'X-ConditionMachineMetadata': 'MachineMetadata',
  Conflicts: 'Conflicts',
  'X-Conflicts': 'Conflicts',
  Replaces: 'Replaces',
  Global: 'Global',
};

const TRUTHY = ['true', 'yes', '1', 'on', 't'];

/**
 * fleet's parseMultivalueLine: `"a=b" "c=d"` → [a=b, c=d]; a value not both starting
 * and ending with `"` is a single value.
 */
function splitMultivalue(value: string): string[] {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return [value];
  const values: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of value) {
    if (char === '"') quoted = !quoted;
    else if (char === ' ' && !quoted) {
      values.push(current);
      current = '';
    } else current += char;
  }
  values.push(current);
  return values;
}

/** Each [X-Fleet] value by canonical key, multivalue lists split, specifiers expanded. */
function fleetValues(options: readonly UnitOption[], unitName?: string): Map<FleetKey, string[]> {
  const values = new Map<FleetKey, string[]>();
  for (const option of options) {
    if (option.section !== 'X-Fleet' || !Object.prototype.hasOwnProperty.call(FLEET_KEYS, option.name)) continue;
    const key = FLEET_KEYS[option.name];
    const list = values.get(key) ?? [];
    for (const raw of splitMultivalue(option.value)) {
      const value = (unitName === undefined ? raw : expandSpecifiers(raw, unitName)).trim();
      if (value !== '') list.push(value);
    }
    values.set(key, list);
  }
  return values;
}

const words = (values: readonly string[]): string[] => values.flatMap((v) => v.split(/\s+/)).filter((w) => w !== '');

/** Splits `k=v` (both trimmed); null when there is no `=` or the key is empty. */
function metadataPair(text: string): [string, string] | null {
  const equals = text.indexOf('=');
  const key = equals < 0 ? '' : text.slice(0, equals).trim();
  return key === '' ? null : [key, text.slice(equals + 1).trim()];
}

/**
 * The unit's scheduling requirements. With `unitName`, `%n %N %p %i` are expanded
 * as fleet does. Conflicts/Replaces/MachineOf are whitespace-separated lists;
 * MachineID is the first value, Global the last; malformed metadata is skipped.
 */
export function readFleetRequirements(options: readonly UnitOption[], unitName?: string): FleetRequirements {
  const values = fleetValues(options, unitName);
  const metadata: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const text of values.get('MachineMetadata') ?? []) {
    const pair = metadataPair(text);
    if (!pair) continue;
    const [key, value] = pair;
    const list = metadata[key] ?? (metadata[key] = []);
    if (!list.includes(value)) list.push(value);
  }
  const global = values.get('Global') ?? [];
  const requirements: FleetRequirements = {
    metadata: { ...metadata },
    conflicts: words(values.get('Conflicts') ?? []),
    machineOf: words(values.get('MachineOf') ?? []),
    replaces: words(values.get('Replaces') ?? []),
    global: TRUTHY.includes((global[global.length - 1] ?? '').toLowerCase()),
  };
  const machineId = values.get('MachineID')?.[0];
  if (machineId !== undefined) requirements.machineId = machineId;
  return requirements;
}

/**
 * Why fleet would answer 400 to these options, or null: an option that cannot be
 * stored as a unit line (including lines over 2048 bytes), malformed MachineMetadata,
 * a MachineOf target matched by the unit's own Conflicts or Replaces, MachineID with
 * MachineOf/Conflicts/Global/Replaces, Global with MachineOf/Replaces, Conflicts with
 * Replaces.
 */
export function validateFleetOptions(options: readonly UnitOption[], unitName?: string): string | null {
  for (const option of options) {
    const problem = unitOptionProblem(option);
    if (problem) return problem;
  }
  const badMetadata = (fleetValues(options, unitName).get('MachineMetadata') ?? []).find((text) => !metadataPair(text));
  if (badMetadata !== undefined) return `MachineMetadata "${badMetadata}" is not key=value`;

  const req = readFleetRequirements(options, unitName);
  for (const peer of req.machineOf) {
    const conflict = req.conflicts.find((glob) => matchUnitGlob(glob, peer));
    if (conflict !== undefined) return `unresolvable requirements: MachineOf "${peer}" matches Conflicts "${conflict}"`;
    const replace = req.replaces.find((glob) => matchUnitGlob(glob, peer));
    if (replace !== undefined) return `unresolvable requirements: MachineOf "${peer}" matches Replaces "${replace}"`;
  }
  const pinned = req.machineId !== undefined;
  const has = { MachineOf: req.machineOf.length > 0, Conflicts: req.conflicts.length > 0, Replaces: req.replaces.length > 0 };
  if (pinned && has.MachineOf) return 'MachineID cannot be used with MachineOf';
  if (pinned && has.Conflicts) return 'MachineID cannot be used with Conflicts';
  if (pinned && req.global) return 'MachineID cannot be used with Global';
  if (pinned && has.Replaces) return 'MachineID cannot be used with Replaces';
  if (req.global && has.MachineOf) return 'Global cannot be used with MachineOf';
  if (req.global && has.Replaces) return 'Global cannot be used with Replaces';
  if (has.Conflicts && has.Replaces) return 'Conflicts cannot be used with Replaces';
  return null;
}
