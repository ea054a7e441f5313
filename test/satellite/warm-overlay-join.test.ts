/**
 * A take on a Swarm node joins the owner's overlays as they are (WarmNetworks.join with overlays):
 * a connect the node's engine answers 404 for (a worker's engine racing the teardown of its local
 * copy of the overlay) is retried, and a 404 that outlasts the retries fails the take naming the
 * engine's own message. Real engine and a real member on the holding network; the network the member
 * joins is a plain bridge of a user's name (joined as it is, as an overlay would be). Objects carry
 * a prefix unique to this file.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../common/logger';
import { userNetworkNames, type UserNetworkNames } from '../../common/network-model';
import { UserNetworks } from '../../satellite/user-networks';
import { WarmNetworks } from '../../satellite/warm-networks';

const docker = new Docker();
const OWNER = 'BLTESTOVJOIN';
const TEST_LABEL = { 'boatload.test': 'warm-overlay-join' };
const networksMade: string[] = [];
const containersMade: string[] = [];

/**
 * A fake only to inject the fault: the real engine, except that the first `failures` connects to
 * `target` answer the 404 a Swarm worker's engine gives ("network ... not found").
 */
function failingConnects(target: string, failures: number): { docker: Docker; attempts: () => number } {
  let attempts = 0;
  const faulty = Object.create(docker) as Docker;
  faulty.getNetwork = (id: string) => {
    const network = docker.getNetwork(id);
    if (id !== target) return network;
    const connect = network.connect.bind(network) as (options: object) => Promise<unknown>;
    (network as unknown as { connect: (options: object) => Promise<unknown> }).connect = async (options: object) => {
      attempts += 1;
      if (attempts <= failures) throw Object.assign(new Error(`(HTTP code 404) no such network - network ${id} not found`), { statusCode: 404, json: { message: `network ${id} not found` } });
      return connect(options);
    };
    return network;
  };
  return { docker: faulty, attempts: () => attempts };
}

async function userNetwork(): Promise<UserNetworkNames> {
  const names = userNetworkNames(`boatload-net-${randomBytes(8).toString('hex')}`) as UserNetworkNames;
  await docker.createNetwork({ Name: names.shared, Driver: 'bridge', Internal: true, Labels: TEST_LABEL });
  networksMade.push(names.shared);
  return names;
}

/** A running container waiting on the holding network, as a member does. */
async function member(warm: WarmNetworks): Promise<string> {
  const holding = await warm.ensureHolding({});
  const name = `bltest-ovjoin-${randomBytes(4).toString('hex')}`;
  const container = await docker.createContainer({ name, Image: 'boatload/base:latest', Cmd: ['sleep', '120'], Labels: TEST_LABEL, HostConfig: { NetworkMode: holding } });
  containersMade.push(name);
  await container.start();
  return name;
}

const networksOf = async (name: string): Promise<string[]> => Object.keys((await docker.getContainer(name).inspect()).NetworkSettings.Networks ?? {}).sort();

afterAll(async () => {
  for (const name of containersMade) await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  for (const name of networksMade) await docker.getNetwork(name).remove().catch(() => undefined);
  await docker.getNetwork(new WarmNetworks({ docker, networks: new UserNetworks({ docker, logger: silentLogger, firewall: null, owner: OWNER }), owner: OWNER, logger: silentLogger }).holding.name).remove().catch(() => undefined);
});

const warmNetworks = (engine: Docker): WarmNetworks =>
  new WarmNetworks({ docker: engine, networks: new UserNetworks({ docker: engine, logger: silentLogger, firewall: null, owner: OWNER }), owner: OWNER, logger: silentLogger });

test('an overlay join the engine answers 404 for once is retried: the member ends on the overlay, off the holding network', async () => {
  const names = await userNetwork();
  const fault = failingConnects(names.shared, 1);
  const warm = warmNetworks(fault.docker);
  const name = await member(warm);
  await warm.join(name, warm.check([{ name: names.shared, aliases: ['srv'] }]), true);
  expect(fault.attempts()).toBe(2);
  expect(await networksOf(name)).toEqual([names.shared]);
  const endpoint = (await docker.getContainer(name).inspect()).NetworkSettings.Networks[names.shared] as { Aliases?: string[] | null };
  expect(endpoint.Aliases ?? []).toContain('srv');
}, 20_000);

test("a 404 that outlasts the retries fails the take with the engine's message; the member stays on the holding network", async () => {
  const names = await userNetwork();
  const fault = failingConnects(names.shared, 10);
  const warm = warmNetworks(fault.docker);
  const name = await member(warm);
  await expect(warm.join(name, warm.check([{ name: names.shared }]), true)).rejects.toMatchObject({
    status: 404,
    message: `network ${names.shared} not found on this node's engine (network ${names.shared} not found).`,
  });
  expect(fault.attempts()).toBe(3);
  expect(await networksOf(name)).toEqual([warm.holding.name]);
}, 20_000);
