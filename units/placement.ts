/**
 * fleet-style placement: which machine(s) a unit goes to, given its [X-Fleet]
 * requirements and the units already placed.
 */
import type { FleetRequirements } from './fleet-options';
import { matchUnitGlob } from './unit-glob';

export interface Machine {
  id: string;
  primaryIP: string;
  metadata: Record<string, string>;
}

export interface PlacedUnit {
  name: string;
  machineId: string;
  /** The placed unit's own Conflicts globs; conflicts are symmetric. */
  conflicts?: string[];
}

export interface PlacementInput {
  unitName: string;
  requirements: FleetRequirements;
  machines: readonly Machine[];
  /** Units already on machines; entries named `unitName` (its own earlier placement) are ignored. */
  placed: readonly PlacedUnit[];
}

/** Where the unit goes (one machine, or every able machine for Global), or why nowhere. */
export type PlacementResult = { machineIds: string[] } | { reason: string };

function describeMetadata(metadata: Record<string, string[]>): string {
  return Object.entries(metadata)
    .map(([key, values]) => `${key}=${values.join('|')}`)
    .join(' ');
}

function matchesMetadata(machine: Machine, metadata: Record<string, string[]>): boolean {
  return Object.entries(metadata).every(([key, values]) => {
    const actual = Object.prototype.hasOwnProperty.call(machine.metadata, key) ? machine.metadata[key] : undefined;
    return actual !== undefined && values.includes(actual);
  });
}

/** MachineID matches the full id or its first 8 characters. */
function matchesMachineId(machine: Machine, wanted: string): boolean {
  return machine.id === wanted || machine.id.slice(0, 8) === wanted;
}

/**
 * Places a unit as fleet does. Filters, in order: MachineID, MachineMetadata (same key
 * ORed, keys ANDed), Conflicts (no machine running a unit matching our globs, nor one
 * whose own conflicts match us), MachineOf (the machine of every named unit; each must
 * be placed). Global returns every machine left. Otherwise the least-loaded machine
 * (count of placed units), ties to the lowest id. Replaces is a preference: when a
 * replaced unit is on an eligible machine, the choice is among those machines.
 */
export function placeUnit(input: PlacementInput): PlacementResult {
  const { unitName, requirements: req } = input;
  const others = input.placed.filter((unit) => unit.name !== unitName);
  let candidates = [...input.machines].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (candidates.length === 0) return { reason: 'no machines are available' };

  if (req.machineId !== undefined) {
    const wanted = req.machineId;
    candidates = candidates.filter((machine) => matchesMachineId(machine, wanted));
    if (candidates.length === 0) return { reason: `no machine has MachineID ${wanted}` };
  }
  if (Object.keys(req.metadata).length > 0) {
    candidates = candidates.filter((machine) => matchesMetadata(machine, req.metadata));
    if (candidates.length === 0) return { reason: `no machine matches MachineMetadata ${describeMetadata(req.metadata)}` };
  }
  const conflicting = new Set(
    others
      .filter(
        (unit) =>
          req.conflicts.some((glob) => matchUnitGlob(glob, unit.name)) ||
          (unit.conflicts ?? []).some((glob) => matchUnitGlob(glob, unitName)),
      )
      .map((unit) => unit.machineId),
  );
  if (conflicting.size > 0) {
    candidates = candidates.filter((machine) => !conflicting.has(machine.id));
    if (candidates.length === 0) return { reason: `every eligible machine runs a unit that conflicts with ${unitName}` };
  }
  if (req.global) return { machineIds: candidates.map((machine) => machine.id) };

  for (const peer of req.machineOf) {
    const hosts = new Set(others.filter((unit) => unit.name === peer).map((unit) => unit.machineId));
    if (hosts.size === 0) return { reason: `MachineOf unit ${peer} is not placed on any machine` };
    candidates = candidates.filter((machine) => hosts.has(machine.id));
    if (candidates.length === 0) return { reason: `the machine of MachineOf unit ${peer} is not eligible for ${unitName}` };
  }
  const replacedHosts = new Set(
    others.filter((unit) => req.replaces.some((glob) => matchUnitGlob(glob, unit.name))).map((unit) => unit.machineId),
  );
  const preferred = candidates.filter((machine) => replacedHosts.has(machine.id));
  if (preferred.length > 0) candidates = preferred;

  const load = new Map<string, number>();
  for (const unit of others) load.set(unit.machineId, (load.get(unit.machineId) ?? 0) + 1);
  let best = candidates[0];
  for (const machine of candidates) {
    if ((load.get(machine.id) ?? 0) < (load.get(best.id) ?? 0)) best = machine;
  }
  return { machineIds: [best.id] };
}
