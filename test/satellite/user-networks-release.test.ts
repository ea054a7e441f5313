/**
 * A satellite removes only the users' networks it made (labelled with its chain prefix): a network
 * of a user's name it did not make (on a Swarm node, the API's overlay a warm run was on) stays.
 * Real engine; the networks carry a prefix unique to this file.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { LABELS } from '../../common/labels';
import { silentLogger } from '../../common/logger';
import { userNetworkNames, type UserNetworkNames } from '../../common/network-model';
import { UserNetworks } from '../../satellite/user-networks';

const docker = new Docker();
const OWNER = 'BLTESTRELEASE';
const made: string[] = [];

async function network(labels: Record<string, string>): Promise<UserNetworkNames> {
  const names = userNetworkNames(`boatload-net-${randomBytes(8).toString('hex')}`) as UserNetworkNames;
  await docker.createNetwork({ Name: names.shared, Driver: 'bridge', Internal: true, Labels: { 'boatload.test': 'user-networks-release', ...labels } });
  made.push(names.shared);
  return names;
}

const exists = async (name: string): Promise<boolean> =>
  docker
    .getNetwork(name)
    .inspect()
    .then(() => true)
    .catch(() => false);

afterAll(async () => {
  for (const name of made) await docker.getNetwork(name).remove().catch(() => undefined);
});

test('releaseIfUnused removes its own unused network and leaves one of the same shape it did not make', async () => {
  const networks = new UserNetworks({ docker, logger: silentLogger, firewall: null, owner: OWNER });
  const own = await network({ [LABELS.firewall]: OWNER });
  const foreign = await network({});
  await networks.releaseIfUnused(own);
  await networks.releaseIfUnused(foreign);
  expect(await exists(own.shared)).toBe(false);
  expect(await exists(foreign.shared)).toBe(true);
});
