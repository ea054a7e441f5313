import type { FleetRequirements } from '../../units/fleet-options';
import { type Machine, type PlacedUnit, placeUnit } from '../../units/placement';

const requirements = (patch: Partial<FleetRequirements> = {}): FleetRequirements => ({
  metadata: {}, conflicts: [], machineOf: [], replaces: [], global: false, ...patch,
});

const machines: Machine[] = [
  { id: 'cccccccc3333', primaryIP: '10.0.0.3', metadata: { region: 'us', disk: 'hdd' } },
  { id: 'aaaaaaaa1111', primaryIP: '10.0.0.1', metadata: { region: 'eu', disk: 'ssd' } },
  { id: 'bbbbbbbb2222', primaryIP: '10.0.0.2', metadata: { region: 'eu', disk: 'hdd' } },
];
const [us, euSsd, euHdd] = machines.map((m) => m.id) as [string, string, string];

const place = (req: Partial<FleetRequirements>, placed: PlacedUnit[] = [], unitName = 'web.service') =>
  placeUnit({ unitName, requirements: requirements(req), machines, placed });

describe('placeUnit', () => {
  it('picks the lowest id among equally loaded machines', () => {
    expect(place({})).toEqual({ machineIds: [euSsd] });
  });

  it('picks the least-loaded machine', () => {
    const placed = [{ name: 'a.service', machineId: euSsd }, { name: 'b.service', machineId: euHdd }];
    expect(place({}, placed)).toEqual({ machineIds: [us] });
    expect(place({}, [...placed, { name: 'c.service', machineId: us }, { name: 'd.service', machineId: us }])).toEqual({ machineIds: [euSsd] });
  });

  it('does not count its own earlier placement', () => {
    expect(place({}, [{ name: 'web.service', machineId: euSsd }])).toEqual({ machineIds: [euSsd] });
  });

  it('honours MachineID by full or 8-character id', () => {
    expect(place({ machineId: us })).toEqual({ machineIds: [us] });
    expect(place({ machineId: 'cccccccc' })).toEqual({ machineIds: [us] });
    expect(place({ machineId: 'cccc' })).toEqual({ reason: 'no machine has MachineID cccc' });
  });

  it('ORs values of one metadata key and ANDs different keys', () => {
    expect(place({ metadata: { region: ['eu'] } }, [{ name: 'x.service', machineId: euSsd }])).toEqual({ machineIds: [euHdd] });
    expect(place({ metadata: { region: ['us', 'eu'], disk: ['hdd'] } }, [{ name: 'x.service', machineId: euHdd }])).toEqual({ machineIds: [us] });
    expect(place({ metadata: { region: ['eu'], disk: ['ssd'] } })).toEqual({ machineIds: [euSsd] });
    expect(place({ metadata: { region: ['ap'] } })).toEqual({ reason: 'no machine matches MachineMetadata region=ap' });
    expect(place({ metadata: { region: ['us'], disk: ['ssd', 'nvme'] } })).toEqual({
      reason: 'no machine matches MachineMetadata region=us disk=ssd|nvme',
    });
  });

  it('avoids machines running a conflicting unit', () => {
    const placed = [{ name: 'web@1.service', machineId: euSsd }, { name: 'web@2.service', machineId: euHdd }];
    expect(place({ conflicts: ['web@*.service'] }, placed, 'web@3.service')).toEqual({ machineIds: [us] });
    expect(place({ conflicts: ['web@*.service'], metadata: { region: ['eu'] } }, placed, 'web@3.service')).toEqual({
      reason: 'every eligible machine runs a unit that conflicts with web@3.service',
    });
  });

  it('treats conflicts as symmetric', () => {
    const placed = [{ name: 'db.service', machineId: euSsd, conflicts: ['web*'] }, { name: 'x.service', machineId: us }, { name: 'y.service', machineId: euHdd }];
    expect(place({}, placed)).toEqual({ machineIds: [euHdd] });
    expect(place({}, placed, 'api.service')).toEqual({ machineIds: [euSsd] });
  });

  it('places Global units on every eligible machine', () => {
    expect(place({ global: true })).toEqual({ machineIds: [euSsd, euHdd, us] });
    expect(place({ global: true, metadata: { disk: ['hdd'] } })).toEqual({ machineIds: [euHdd, us] });
    expect(place({ global: true, conflicts: ['db.service'] }, [{ name: 'db.service', machineId: us }])).toEqual({ machineIds: [euSsd, euHdd] });
    expect(place({ global: true, metadata: { disk: ['tape'] } })).toEqual({ reason: 'no machine matches MachineMetadata disk=tape' });
  });

  it('follows MachineOf', () => {
    const placed = [{ name: 'db.service', machineId: us }, { name: 'x.service', machineId: us }];
    expect(place({ machineOf: ['db.service'] }, placed)).toEqual({ machineIds: [us] });
    expect(place({ machineOf: ['cache.service'] }, placed)).toEqual({ reason: 'MachineOf unit cache.service is not placed on any machine' });
    expect(place({ machineOf: ['db.service'], metadata: { region: ['eu'] } }, placed)).toEqual({
      reason: 'the machine of MachineOf unit db.service is not eligible for web.service',
    });
    expect(place({ machineOf: ['db.service', 'q.service'] }, [...placed, { name: 'q.service', machineId: euSsd }])).toEqual({
      reason: 'the machine of MachineOf unit q.service is not eligible for web.service',
    });
  });

  it('prefers the machine of a replaced unit, and places normally when none is placed', () => {
    const placed = [{ name: 'old-web.service', machineId: us }, { name: 'x.service', machineId: us }];
    expect(place({ replaces: ['old-*.service'] }, placed)).toEqual({ machineIds: [us] });
    expect(place({ replaces: ['gone.service'] }, placed)).toEqual({ machineIds: [euSsd] });
    expect(place({ replaces: ['old-*.service'], metadata: { region: ['eu'] } }, placed)).toEqual({ machineIds: [euSsd] });
  });

  it('explains an empty cluster', () => {
    expect(placeUnit({ unitName: 'a.service', requirements: requirements(), machines: [], placed: [] })).toEqual({
      reason: 'no machines are available',
    });
  });
});
