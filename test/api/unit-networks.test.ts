/**
 * Which network an operator unit's container gets (api/containers/workloads.ts): without
 * `--network`, the units' network in the default mode with its name as hostname; a network the unit
 * names stays its own. (The real engine and packet filter: test/api/container-ports.test.ts.)
 */
import { UNITS_NETWORK_OWNER, workloadResolver } from '../../api/containers/workloads';
import type { ContainerRepository } from '../../api/store/containers';
import { userNetworkName, type NetworkMode } from '../../common/network-model';
import type { UnitRecord } from '../../units/scheduler/model';
import { parseUnitFile } from '../../units/unit-file';

const instanceId = '0123456789abcdef';
// Operator units have no container record: the store is never asked (this stub fails if it is).
const noRecords = { find: () => Promise.reject(new Error('not asked for units')) } as unknown as ContainerRepository;

function unit(execStart: string, name = 'web.service'): UnitRecord {
  return {
    name, options: parseUnitFile(`[Service]\nExecStart=${execStart}\n`), hash: 'h', desiredState: 'launched', currentState: 'inactive',
    machineId: null, reason: null, engineName: '', observed: null, everStarted: false, containerId: null, created: '', updated: '',
  };
}

const specOf = async (execStart: string, mode?: NetworkMode) => (await workloadResolver({ containers: noRecords, instanceId, unitNetworkMode: mode })(unit(execStart))).spec;

test("a unit without --network joins the units' network in the default mode, named by its container name", async () => {
  const spec = await specOf('/usr/bin/docker run --name web -p 80 boatload/base:latest httpd', 'internet');
  expect(spec.network).toBe(userNetworkName(instanceId, UNITS_NETWORK_OWNER));
  expect(spec.labels).toMatchObject({ 'boatload.network': 'internet', 'boatload.hostname': 'web' });
  expect(spec.ports).toEqual([{ containerPort: 80, protocol: 'tcp' }]);
  // No user can own it: a user name has no space.
  expect(UNITS_NETWORK_OWNER).toMatch(/ /);
  expect((await specOf('/usr/bin/docker run --name web boatload/base:latest true', 'private')).labels['boatload.network']).toBe('private');
  const none = await specOf('/usr/bin/docker run --name web boatload/base:latest true', 'none');
  expect(none.network).toBe('none');
  expect(none.labels['boatload.hostname']).toBeUndefined();
  // A name that is not a DNS label is no hostname (the network still applies).
  const odd = await specOf('/usr/bin/docker run --name Web_1 boatload/base:latest true', 'internet');
  expect(odd.network).toBe(userNetworkName(instanceId, UNITS_NETWORK_OWNER));
  expect(odd.labels['boatload.hostname']).toBeUndefined();
});

test('a network the unit names is its own; without a default mode nothing changes', async () => {
  for (const network of ['host', 'bridge', 'none', 'my-net']) {
    const spec = await specOf(`/usr/bin/docker run --name web --network ${network} boatload/base:latest true`, 'internet');
    expect(spec.network).toBe(network);
    expect(spec.labels['boatload.network']).toBeUndefined();
  }
  const spec = await specOf('/usr/bin/docker run --name web boatload/base:latest true');
  expect(spec.network).toBeUndefined();
  expect(spec.labels['boatload.network']).toBeUndefined();
});
