import { readFleetRequirements, validateFleetOptions } from '../../units/fleet-options';
import type { UnitOption } from '../../units/unit-file';

const fleet = (entries: Array<[string, string]>): UnitOption[] =>
  entries.map(([name, value]) => ({ section: 'X-Fleet', name, value }));

describe('readFleetRequirements', () => {
  it('is empty without [X-Fleet]', () => {
    expect(readFleetRequirements([{ section: 'Service', name: 'MachineID', value: 'x' }])).toEqual({
      metadata: {}, conflicts: [], machineOf: [], replaces: [], global: false,
    });
  });

  it('reads every option', () => {
    const options = fleet([
      ['MachineID', 'abc'],
      ['MachineMetadata', 'region=eu'],
      ['MachineMetadata', '"region=us" "disk=ssd"'],
      ['Conflicts', 'web@*.service db.service'],
      ['Conflicts', '"a.service" "b*.service"'],
      ['MachineOf', 'db.service'],
      ['Replaces', 'old.service'],
      ['Global', 'false'],
    ]);
    expect(readFleetRequirements(options)).toEqual({
      machineId: 'abc',
      metadata: { region: ['eu', 'us'], disk: ['ssd'] },
      conflicts: ['web@*.service', 'db.service', 'a.service', 'b*.service'],
      machineOf: ['db.service'],
      replaces: ['old.service'],
      global: false,
    });
  });

  it.each(['true', 'TRUE', 'yes', 'Yes', '1', 'on', 'ON', 't', 'T'])('treats Global=%s as true', (value) => {
    expect(readFleetRequirements(fleet([['Global', value]])).global).toBe(true);
  });

  it.each(['false', 'no', '0', 'off', 'y', ''])('treats Global=%j as false', (value) => {
    expect(readFleetRequirements(fleet([['Global', value]])).global).toBe(false);
  });

  it('lets the last Global win and the first MachineID', () => {
    expect(readFleetRequirements(fleet([['Global', 'true'], ['Global', 'false']])).global).toBe(false);
    expect(readFleetRequirements(fleet([['MachineID', 'a'], ['MachineID', 'b']])).machineId).toBe('a');
  });

  it('accepts the deprecated X-Condition spellings', () => {
    const options = fleet([
      ['X-ConditionMachineID', 'm1'],
      ['X-ConditionMachineOf', 'db.service'],
      ['X-ConditionMachineMetadata', 'role=web'],
      ['X-Conflicts', 'x.service'],
    ]);
    expect(readFleetRequirements(options)).toMatchObject({
      machineId: 'm1', machineOf: ['db.service'], metadata: { role: ['web'] }, conflicts: ['x.service'],
    });
  });

  it('expands specifiers when given the unit name', () => {
    const options = fleet([['MachineOf', 'db@%i.service'], ['Conflicts', '%p@*.service']]);
    expect(readFleetRequirements(options, 'web@3.service')).toMatchObject({ machineOf: ['db@3.service'], conflicts: ['web@*.service'] });
    expect(readFleetRequirements(options)).toMatchObject({ machineOf: ['db@%i.service'] });
  });

  it('trims metadata and skips malformed pairs', () => {
    expect(readFleetRequirements(fleet([['MachineMetadata', ' region = eu '], ['MachineMetadata', 'junk']])).metadata).toEqual({
      region: ['eu'],
    });
  });

  it('ignores empty values', () => {
    expect(readFleetRequirements(fleet([['MachineID', ''], ['Conflicts', '  ']]))).toEqual({
      metadata: {}, conflicts: [], machineOf: [], replaces: [], global: false,
    });
  });
});

describe('validateFleetOptions', () => {
  it('accepts valid combinations', () => {
    expect(validateFleetOptions([])).toBeNull();
    expect(validateFleetOptions(fleet([['MachineID', 'a'], ['MachineMetadata', 'r=1']]))).toBeNull();
    expect(validateFleetOptions(fleet([['Global', 'true'], ['Conflicts', 'x*'], ['MachineMetadata', 'r=1']]))).toBeNull();
    expect(validateFleetOptions(fleet([['MachineOf', 'db.service'], ['Conflicts', 'web*']]))).toBeNull();
    expect(validateFleetOptions(fleet([['Global', 'false'], ['Replaces', 'x'], ['MachineOf', 'y']]))).toBeNull();
  });

  it.each<[string, Array<[string, string]>, string]>([
    ['MachineID + MachineOf', [['MachineID', 'a'], ['MachineOf', 'b.service']], 'MachineID cannot be used with MachineOf'],
    ['MachineID + Conflicts', [['MachineID', 'a'], ['Conflicts', 'b*']], 'MachineID cannot be used with Conflicts'],
    ['MachineID + Global', [['MachineID', 'a'], ['Global', 'yes']], 'MachineID cannot be used with Global'],
    ['MachineID + Replaces', [['MachineID', 'a'], ['Replaces', 'b.service']], 'MachineID cannot be used with Replaces'],
    ['Global + MachineOf', [['Global', '1'], ['MachineOf', 'b.service']], 'Global cannot be used with MachineOf'],
    ['Global + Replaces', [['Global', 'on'], ['Replaces', 'b.service']], 'Global cannot be used with Replaces'],
    ['Conflicts + Replaces', [['Conflicts', 'a*'], ['Replaces', 'b.service']], 'Conflicts cannot be used with Replaces'],
    ['MachineOf matched by Conflicts', [['MachineOf', 'db.service'], ['Conflicts', 'd?.service']], 'unresolvable requirements: MachineOf "db.service" matches Conflicts "d?.service"'],
    ['MachineOf matched by Replaces', [['MachineOf', 'db.service'], ['Replaces', 'db.*']], 'unresolvable requirements: MachineOf "db.service" matches Replaces "db.*"'],
    ['malformed metadata', [['MachineMetadata', 'region']], 'MachineMetadata "region" is not key=value'],
    ['an over-long line', [['Conflicts', 'x'.repeat(2040)]], 'Conflicts= line is longer than 2048 bytes'],
  ])('refuses %s', (_, entries, message) => {
    expect(validateFleetOptions(fleet(entries))).toBe(message);
  });

  it('checks every section for line problems', () => {
    expect(validateFleetOptions([{ section: 'Service', name: 'ExecStart', value: 'a\nb=c' }])).toMatch(/not a continuation/);
  });

  it('uses expanded specifiers with a unit name', () => {
    const options = fleet([['MachineOf', '%p-db.service'], ['Conflicts', 'web-*']]);
    expect(validateFleetOptions(options)).toBeNull();
    expect(validateFleetOptions(options, 'web.service')).toMatch(/unresolvable requirements/);
  });
});
