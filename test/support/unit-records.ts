/** Unit records for tests that need one without a scheduler: inactive, never observed, fixed dates. */
import type { UnitRecord } from '../../units/scheduler/model';
import { parseUnitFile, unitHash } from '../../units/unit-file';

export function unitRecord(name: string, unitText: string, patch: Partial<UnitRecord> = {}): UnitRecord {
  const options = parseUnitFile(unitText);
  return {
    name,
    options,
    hash: unitHash(options),
    desiredState: 'inactive',
    currentState: 'inactive',
    machineId: null,
    reason: null,
    engineName: name.replace(/\.service$/, ''),
    observed: null,
    everStarted: false,
    containerId: null,
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:00.000Z',
    ...patch,
  };
}
