/**
 * The packet filter's small transaction for a user's new bridges (Firewall.add), on the host's real
 * iptables with chains of this test's own prefix: each bridge's drop and jump written once however
 * often it is added, a second bridge of the same user rewriting the user chain whole, another user's
 * rules untouched, and a full rebuild afterwards leaving exactly what it derives. Likewise a started
 * container's published ports (Firewall.addOwnPorts): one RETURN each, ahead of the bridge's drop.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../common/logger';
import { Firewall } from '../../satellite/firewall';

const tag = randomBytes(3).toString('hex');
const prefix = `BLA${tag.toUpperCase()}`;
const rules = (): string[] => execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${prefix}-`));
const count = (line: string): number => rules().filter((l) => l === line).length;
let firewall: Firewall;

beforeAll(async () => {
  firewall = new Firewall({ prefix, egressAllow: [], logger: silentLogger });
  await firewall.start();
});

afterAll(async () => {
  await firewall?.remove();
  expect(rules()).toEqual([]);
});

test("a user's new bridges add their rules once; a rebuild leaves what it derives", async () => {
  const [a, b] = [tag.padEnd(10, '0'), tag.padEnd(10, '1')];
  const alice = { key: a, internal: `blp-${a}`, bridges: [`blp-${a}`] };
  const bob = { key: b, internal: `blp-${b}`, bridges: [`blp-${b}`, `ble-${b}`] };
  await firewall.add(alice);
  await firewall.add(bob);
  await firewall.add(alice);
  expect(count(`-A ${prefix}-IN -i blp-${a} -j DROP`)).toBe(1);
  expect(count(`-A ${prefix}-FWD -i blp-${a} -j ${prefix}-U${a}`)).toBe(1);
  expect(rules().filter((l) => l.startsWith(`-A ${prefix}-U${a} `))).toEqual([
    `-A ${prefix}-U${a} -i blp-${a} -o blp-${a} -j RETURN`,
    `-A ${prefix}-U${a} -i blp-${a} -j DROP`,
    `-A ${prefix}-U${a} -j ${prefix}-EGRESS`,
  ]);
  // Alice's egress bridge comes: her chain written again with both, the old bridge's jumps not doubled.
  await firewall.add({ ...alice, bridges: [`blp-${a}`, `ble-${a}`] });
  for (const bridge of [`blp-${a}`, `ble-${a}`]) {
    expect(count(`-A ${prefix}-IN -i ${bridge} -j DROP`)).toBe(1);
    expect(count(`-A ${prefix}-FWD -i ${bridge} -j ${prefix}-U${a}`)).toBe(1);
    expect(count(`-A ${prefix}-U${a} -i ${bridge} -o ${bridge} -j RETURN`)).toBe(1);
  }
  expect(count(`-A ${prefix}-U${a} -j ${prefix}-EGRESS`)).toBe(1);
  // Bob's rules are as they were.
  expect(count(`-A ${prefix}-IN -i ble-${b} -j DROP`)).toBe(1);
  expect(count(`-A ${prefix}-FWD -i ble-${b} -j ${prefix}-U${b}`)).toBe(1);
  // A rebuild from Bob alone: Alice's rules and chain gone, Bob's once; adding Alice again writes hers anew.
  await firewall.reconcile(async () => [bob]);
  expect(rules().some((l) => l.includes(a))).toBe(false);
  expect(count(`-A ${prefix}-IN -i blp-${b} -j DROP`)).toBe(1);
  await firewall.add(alice);
  expect(count(`-A ${prefix}-IN -i blp-${a} -j DROP`)).toBe(1);
  // Only validated names reach a rule.
  await expect(firewall.add({ key: a, internal: `blp-${a}`, bridges: ['eth0'] })).rejects.toThrow(/unexpected bridge set/);
});

test("a started container's published ports: one RETURN each, ahead of the bridge's drop; a rebuild without them removes them", async () => {
  const key = tag.padEnd(10, '2');
  const user = { key, internal: `blp-${key}`, bridges: [`blp-${key}`, `ble-${key}`] };
  await firewall.reconcile(async () => [user]);
  const own = { key, bridge: `ble-${key}`, ports: [{ protocol: 'tcp' as const, port: 40123 }, { protocol: 'udp' as const, port: 40124 }] };
  await firewall.addOwnPorts(own);
  await firewall.addOwnPorts(own);
  const input = rules().filter((l) => l.startsWith(`-A ${prefix}-IN `));
  const tcp = `-A ${prefix}-IN -i ble-${key} -p tcp -m tcp --dport 40123 -j RETURN`;
  const udp = `-A ${prefix}-IN -i ble-${key} -p udp -m udp --dport 40124 -j RETURN`;
  expect(input.filter((l) => l === tcp)).toHaveLength(1);
  expect(input.filter((l) => l === udp)).toHaveLength(1);
  const drop = input.indexOf(`-A ${prefix}-IN -i ble-${key} -j DROP`);
  expect(drop).toBeGreaterThan(input.indexOf(tcp));
  expect(drop).toBeGreaterThan(input.indexOf(udp));
  // The answers rule stays first.
  expect(input[0]).toBe(`-A ${prefix}-IN -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`);
  await firewall.reconcile(async () => [user]);
  expect(rules().some((l) => l.includes('--dport 4012'))).toBe(false);
  // Written again after the rebuild forgot it; a bad port never reaches a rule.
  await firewall.addOwnPorts(own);
  expect(count(tcp)).toBe(1);
  await expect(firewall.addOwnPorts({ ...own, ports: [{ protocol: 'tcp', port: 70000 }] })).rejects.toThrow(/unexpected published port/);
});

test("on a Swarm node: docker_gwbridge's rules written once per rebuild, its chain removed when the node leaves the Swarm", async () => {
  const gwPrefix = `${prefix}G`;
  const gwRules = (): string[] => execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${gwPrefix}-`));
  const subnets = ['198.18.0.0/24'];
  const swarmGateway = { publishedPorts: [{ first: 32768, last: 60999 }], subnets: async () => subnets };
  const swarmFirewall = new Firewall({ prefix: gwPrefix, egressAllow: [], logger: silentLogger, swarmGateway });
  try {
    await swarmFirewall.start();
    await swarmFirewall.reconcile(async () => []);
    const once = [
      `-A ${gwPrefix}-IN -i docker_gwbridge -p tcp -m tcp --dport 32768:60999 -j RETURN`,
      `-A ${gwPrefix}-IN -i docker_gwbridge -j DROP`,
      `-A ${gwPrefix}-FWD -i docker_gwbridge -j ${gwPrefix}-GW`,
      `-A ${gwPrefix}-GW -m conntrack --ctstate DNAT -j RETURN`,
      `-A ${gwPrefix}-GW -d 198.18.0.0/24 -p tcp -m tcp --dport 32768:60999 -j RETURN`,
      `-A ${gwPrefix}-GW -d 198.18.0.0/24 -j DROP`,
      `-A ${gwPrefix}-GW -j ${gwPrefix}-EGRESS`,
      `-A INPUT -j ${gwPrefix}-IN`,
      `-A DOCKER-USER -j ${gwPrefix}-FWD`,
    ];
    for (const line of once) expect(gwRules().filter((l) => l === line)).toHaveLength(1);
    // The answers rule stays first on the host chain.
    expect(gwRules().find((l) => l.startsWith(`-A ${gwPrefix}-IN `))).toBe(`-A ${gwPrefix}-IN -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`);
    // A subnet that changed (read again at each rebuild) replaces the old one.
    subnets[0] = '198.18.1.0/24';
    await swarmFirewall.reconcile(async () => []);
    expect(gwRules().some((l) => l.includes('198.18.0.0/24'))).toBe(false);
    expect(gwRules().filter((l) => l === `-A ${gwPrefix}-GW -d 198.18.1.0/24 -j DROP`)).toHaveLength(1);
    // The same prefix off the Swarm: no docker_gwbridge rule, no gateway chain.
    const plain = new Firewall({ prefix: gwPrefix, egressAllow: [], logger: silentLogger });
    await plain.start();
    expect(gwRules().some((l) => l.includes('-i docker_gwbridge') || l.includes(`${gwPrefix}-GW`))).toBe(false);
    expect(gwRules().filter((l) => l === `-A INPUT -j ${gwPrefix}-IN`)).toHaveLength(1);
  } finally {
    await swarmFirewall.remove();
  }
  expect(gwRules()).toEqual([]);
});
