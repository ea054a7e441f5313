/**
 * Where the scheduler may run a unit: its [X-Fleet] requirements evaluated with placeUnit against
 * a list of machines and the units already placed on them. Backend-neutral: the local backend has
 * one machine, the Swarm backend many; both ask this.
 */
import { readFleetRequirements } from '../fleet-options';
import { type Machine, type PlacedUnit, type PlacementResult, placeUnit } from '../placement';
import type { UnitRecord } from './model';

export type PlacementUnit = Pick<UnitRecord, 'name' | 'options' | 'machineId'>;

export interface UnitPlacementInput {
  unit: Pick<UnitRecord, 'name' | 'options'>;
  machines: readonly Machine[];
  /** Every unit the scheduler knows; those with a machine count as placed (the unit itself never does). */
  units: readonly PlacementUnit[];
}

/** The units that occupy a machine, with their own Conflicts (conflicts are symmetric). */
export function placedUnitsOf(units: readonly PlacementUnit[]): PlacedUnit[] {
  return units
    .filter((unit): unit is PlacementUnit & { machineId: string } => unit.machineId !== null)
    .map((unit) => ({ name: unit.name, machineId: unit.machineId, conflicts: readFleetRequirements(unit.options, unit.name).conflicts }));
}

/** The machine(s) the unit may run on (every able one for Global units), or why none. */
export function placementOf(input: UnitPlacementInput): PlacementResult {
  const { unit } = input;
  return placeUnit({
    unitName: unit.name,
    requirements: readFleetRequirements(unit.options, unit.name),
    machines: input.machines,
    placed: placedUnitsOf(input.units.filter((other) => other.name !== unit.name)),
  });
}
