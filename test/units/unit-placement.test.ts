/** placementOf: a unit's [X-Fleet] requirements against several machines and the units placed on them. */
import type { Machine } from '../../units/placement';
import { placedUnitsOf, placementOf, type PlacementUnit } from '../../units/scheduler/unit-placement';
import { parseUnitFile, type UnitOption } from '../../units/unit-file';

const machines: Machine[] = [
  { id: 'bbbbbbbb000000000000000000000002', primaryIP: '10.0.0.2', metadata: { disk: 'hdd', region: 'eu' } },
  { id: 'aaaaaaaa000000000000000000000001', primaryIP: '10.0.0.1', metadata: { disk: 'ssd', region: 'eu' } },
  { id: 'cccccccc000000000000000000000003', primaryIP: '10.0.0.3', metadata: { disk: 'ssd', region: 'us' } },
];
const [hddEu, ssdEu, ssdUs] = machines.map((m) => m.id) as [string, string, string];

const xfleet = (...lines: string[]): UnitOption[] =>
  parseUnitFile(`[Service]\nExecStart=/usr/bin/docker run boatload/base:latest\n${lines.length ? `[X-Fleet]\n${lines.join('\n')}\n` : ''}`);
const unit = (name: string, machineId: string | null, ...lines: string[]): PlacementUnit => ({ name, options: xfleet(...lines), machineId });
const place = (name: string, lines: string[], units: PlacementUnit[] = []) => placementOf({ unit: { name, options: xfleet(...lines) }, machines, units });

describe('placementOf', () => {
  test('without requirements: the least-loaded machine, ties to the lowest id', () => {
    expect(place('web.service', [])).toEqual({ machineIds: [ssdEu] });
    expect(place('web.service', [], [unit('a.service', ssdEu), unit('b.service', hddEu)])).toEqual({ machineIds: [ssdUs] });
  });

  test('only units with a machine count as placed; the unit itself never does', () => {
    const units = [unit('a.service', null), unit('web.service', ssdEu), unit('b.service', ssdEu)];
    expect(placedUnitsOf(units).map((u) => u.name)).toEqual(['web.service', 'b.service']);
    expect(place('web.service', [], units)).toEqual({ machineIds: [hddEu] });
  });

  test('MachineMetadata: values of one key ORed, keys ANDed', () => {
    expect(place('web.service', ['MachineMetadata=disk=ssd', 'MachineMetadata=region=us'])).toEqual({ machineIds: [ssdUs] });
    expect(place('web.service', ['MachineMetadata="region=us" "region=eu"', 'MachineMetadata=disk=hdd'])).toEqual({ machineIds: [hddEu] });
    expect(place('web.service', ['MachineMetadata=disk=nvme'])).toEqual({ reason: 'no machine matches MachineMetadata disk=nvme' });
  });

  test('MachineID by full or short id', () => {
    expect(place('web.service', [`MachineID=${ssdUs}`])).toEqual({ machineIds: [ssdUs] });
    expect(place('web.service', ['MachineID=bbbbbbbb'])).toEqual({ machineIds: [hddEu] });
    expect(place('web.service', ['MachineID=dddddddd'])).toEqual({ reason: 'no machine has MachineID dddddddd' });
  });

  test('Conflicts work both ways, with globs and %p specifiers', () => {
    const units = [unit('db@1.service', ssdEu), unit('db@2.service', hddEu)];
    expect(place('db@3.service', ['Conflicts=%p@*.service'], units)).toEqual({ machineIds: [ssdUs] });
    const guarded = [unit('lonely.service', ssdEu, 'Conflicts=web*')];
    expect(place('web.service', [], guarded)).toEqual({ machineIds: [hddEu] });
    const everywhere = machines.map((m, i) => unit(`db@${i}.service`, m.id));
    expect(place('db@9.service', ['Conflicts=db@*'], everywhere)).toEqual({ reason: 'every eligible machine runs a unit that conflicts with db@9.service' });
  });

  test('MachineOf follows the peer; an unplaced peer is a reason', () => {
    expect(place('sidekick.service', ['MachineOf=web.service'], [unit('web.service', ssdUs)])).toEqual({ machineIds: [ssdUs] });
    expect(place('sidekick.service', ['MachineOf=web.service'], [unit('web.service', null)])).toEqual({ reason: 'MachineOf unit web.service is not placed on any machine' });
    expect(place('sidekick.service', ['MachineOf=web.service', 'MachineMetadata=disk=hdd'], [unit('web.service', ssdUs)])).toEqual({
      reason: 'the machine of MachineOf unit web.service is not eligible for sidekick.service',
    });
  });

  test('Global: every machine that matches', () => {
    expect(place('agent.service', ['Global=true'])).toEqual({ machineIds: [ssdEu, hddEu, ssdUs] });
    expect(place('agent.service', ['Global=true', 'MachineMetadata=disk=ssd'])).toEqual({ machineIds: [ssdEu, ssdUs] });
  });

  test('Replaces prefers the machine of the replaced unit', () => {
    expect(place('new.service', ['Replaces=old.service'], [unit('old.service', ssdUs), unit('x.service', ssdUs)])).toEqual({ machineIds: [ssdUs] });
  });

  test('one machine (the local backend): placed there, or a reason', () => {
    const local = [machines[0]];
    expect(placementOf({ unit: { name: 'web.service', options: xfleet() }, machines: local, units: [] })).toEqual({ machineIds: [hddEu] });
    expect(placementOf({ unit: { name: 'web.service', options: xfleet('MachineMetadata=disk=ssd') }, machines: local, units: [] })).toEqual({ reason: 'no machine matches MachineMetadata disk=ssd' });
    expect(placementOf({ unit: { name: 'web.service', options: xfleet() }, machines: [], units: [] })).toEqual({ reason: 'no machines are available' });
  });
});
