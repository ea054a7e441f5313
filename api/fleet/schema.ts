/**
 * fleet v1's JSON shapes and how BoatLoad's units map onto them. Every field is omitted when
 * empty. BoatLoad adds two fields fleet lacks, which fleetctl ignores: `reason`, why a unit is not
 * as desired (not placed, an engine error), and `ports`, where its published ports (`-p`) are
 * reached now.
 */
import type { Machine } from '../../units/placement';
import { readFleetRequirements } from '../../units/fleet-options';
import type { UnitRecord } from '../../units/scheduler/model';
import { systemdStateOf } from '../../units/scheduler/unit-status';
import type { UnitOption } from '../../units/unit-file';
import type { PublishedPort } from '../../common/satellite-protocol';

export interface FleetUnit {
  name: string;
  options?: UnitOption[];
  desiredState?: string;
  currentState?: string;
  machineID?: string;
  /** BoatLoad only: why the unit is not as desired. */
  reason?: string;
  /** BoatLoad only: where its published ports are reached now (host_ip is the machine's address). */
  ports?: PublishedPort[];
}

export interface FleetUnitState {
  name: string;
  hash?: string;
  machineID?: string;
  systemdLoadState?: string;
  systemdActiveState?: string;
  systemdSubState?: string;
  /** BoatLoad only: why the unit is not as desired. */
  reason?: string;
  /** BoatLoad only: where its published ports are reached now (host_ip is the machine's address). */
  ports?: PublishedPort[];
}

export interface FleetMachine {
  id: string;
  primaryIP?: string;
  metadata?: Record<string, string>;
}

/** A list answer: `{"units": [...], "nextPageToken": "..."}`, `{}` when empty. */
export type FleetPage<K extends string, T> = { [key in K]?: T[] } & { nextPageToken?: string };

function setIfPresent<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null | undefined | ''): void {
  if (value !== null && value !== undefined && value !== '') target[key] = value;
}

/** The Unit resource. Global units have no single machine or state: both are left out. */
export function fleetUnitOf(unit: UnitRecord): FleetUnit {
  const view: FleetUnit = { name: unit.name };
  if (unit.options.length > 0) view.options = unit.options;
  setIfPresent(view, 'desiredState', unit.desiredState);
  if (!readFleetRequirements(unit.options, unit.name).global) {
    setIfPresent(view, 'currentState', unit.currentState);
    setIfPresent(view, 'machineID', unit.machineId);
  }
  setIfPresent(view, 'reason', unit.reason);
  if (unit.observed?.ports && unit.observed.ports.length > 0) view.ports = unit.observed.ports;
  return view;
}

/** The UnitState resource, or null when the unit has no systemd state on any machine. */
export function fleetUnitStateOf(unit: UnitRecord): FleetUnitState | null {
  const systemd = systemdStateOf(unit);
  if (!systemd) return null;
  const view: FleetUnitState = { name: unit.name };
  setIfPresent(view, 'hash', unit.hash);
  setIfPresent(view, 'machineID', unit.machineId);
  setIfPresent(view, 'systemdLoadState', systemd.loadState);
  setIfPresent(view, 'systemdActiveState', systemd.activeState);
  setIfPresent(view, 'systemdSubState', systemd.subState);
  setIfPresent(view, 'reason', unit.reason);
  if (unit.observed?.ports && unit.observed.ports.length > 0) view.ports = unit.observed.ports;
  return view;
}

export function fleetMachineOf(machine: Machine): FleetMachine {
  const view: FleetMachine = { id: machine.id };
  setIfPresent(view, 'primaryIP', machine.primaryIP);
  if (Object.keys(machine.metadata).length > 0) view.metadata = { ...machine.metadata };
  return view;
}
