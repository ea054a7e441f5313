/**
 * The docker_gwbridge rules follow the engine's Swarm membership after the satellite's start: an
 * engine that joins gets them at the next check, one that leaves loses them, and a change the
 * firewall could not apply is applied at the check after. Real iptables, with chains of this test's
 * own prefix, and the real rebuild from the users' networks, wired as satellite/main.ts wires them. The engine's membership is a stand-in: joining
 * the test machine's engine to a Swarm would change it for every other test.
 */
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../common/logger';
import { Firewall } from '../../satellite/firewall';
import { followGateway, SwarmMembership } from '../../satellite/swarm-membership';
import { UserNetworks } from '../../satellite/user-networks';

const prefix = `BLM${randomBytes(3).toString('hex').toUpperCase()}`;
const rules = (): string[] => execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${prefix}-`));
const guarded = (): boolean => rules().includes(`-A ${prefix}-IN -i docker_gwbridge -j DROP`) && rules().includes(`-N ${prefix}-GW`);
let firewall: Firewall;
let networks: UserNetworks;

beforeAll(async () => {
  firewall = new Firewall({ prefix, egressAllow: [], logger: silentLogger });
  await firewall.start();
  networks = new UserNetworks({ docker: new Docker(), logger: silentLogger, firewall, owner: prefix, graceMs: 0 });
});

afterAll(async () => {
  networks?.close();
  await firewall?.remove();
  expect(rules()).toEqual([]);
});

test('an engine that joins a Swarm after the start gets the gateway rules; one that leaves loses them; a failed change is tried again', async () => {
  let swarm = false;
  let refuse = false;
  // As satellite/main.ts wires it: the gateway set, then every rule rebuilt from the users' networks.
  const follow = followGateway({ firewall, hostPorts: [], rebuild: () => networks.reconcile() });
  const membership = new SwarmMembership({
    isSwarmNode: async () => swarm,
    initial: false,
    onChange: async (joined) => {
      if (!refuse) return follow(joined);
      // The gateway set, its rebuild refused (a fault injected: iptables-restore failing).
      await followGateway({ firewall, hostPorts: [], rebuild: () => Promise.reject(new Error('iptables-restore failed (injected)')) })(joined);
    },
    intervalMs: 60_000,
    logger: silentLogger,
  });
  expect(rules().length).toBeGreaterThan(0); // the firewall's own chains
  expect(guarded()).toBe(false);

  await membership.check();
  expect(guarded()).toBe(false); // nothing changed

  swarm = true;
  await membership.check();
  expect(guarded()).toBe(true);
  expect(rules()).toContain(`-A ${prefix}-FWD -i docker_gwbridge -j ${prefix}-GW`);

  // Leaving, with the first attempt refused: still guarded, then applied at the next check.
  swarm = false;
  refuse = true;
  await membership.check();
  expect(guarded()).toBe(true);
  refuse = false;
  await membership.check();
  expect(guarded()).toBe(false);
  // (The egress chain's `-o docker_gwbridge -j DROP` is every node's, Swarm or not.)
  expect(rules().filter((l) => l.includes('-i docker_gwbridge') || l.includes(`${prefix}-GW`))).toEqual([]);
});

test('an engine that does not answer changes nothing', async () => {
  const changes: boolean[] = [];
  const membership = new SwarmMembership({
    isSwarmNode: async () => {
      throw new Error('connect ENOENT /var/run/docker.sock');
    },
    initial: true,
    onChange: async (joined) => void changes.push(joined),
    intervalMs: 60_000,
    logger: silentLogger,
  });
  await membership.check();
  expect(changes).toEqual([]);
});
