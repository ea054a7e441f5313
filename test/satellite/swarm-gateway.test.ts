/**
 * The docker_gwbridge rules of a Swarm node (satellite/swarm-gateway.ts), as text: what the swarm
 * backend's `internet` containers may open on the node and beyond, the published-port exception
 * ahead of each drop, and the kernel's routing table and port range read as the rules need them.
 */
import { connectedSubnets, gatewayRules, parsePortRange } from '../../satellite/swarm-gateway';

const chains = { input: 'T-IN', forward: 'T-FWD', gateway: 'T-GW', egress: 'T-EGRESS' };
const dynamic = { first: 32768, last: 60999 };

test('the node refuses its gateway bridge except published ports; other nodes likewise, then the egress policy', () => {
  const lines = gatewayRules(chains, { ports: [dynamic, { first: 20080, last: 20080 }], subnets: ['198.18.0.0/24'], allow: [] });
  expect(lines).toEqual([
    '-A T-IN -i docker_gwbridge -p tcp -m tcp --dport 32768:60999 -j RETURN',
    '-A T-IN -i docker_gwbridge -p udp -m udp --dport 32768:60999 -j RETURN',
    '-A T-IN -i docker_gwbridge -p tcp -m tcp --dport 20080 -j RETURN',
    '-A T-IN -i docker_gwbridge -p udp -m udp --dport 20080 -j RETURN',
    '-A T-IN -i docker_gwbridge -j DROP',
    '-A T-FWD -i docker_gwbridge -j T-GW',
    '-A T-GW -m conntrack --ctstate DNAT -j RETURN',
    '-A T-GW -d 198.18.0.0/24 -p tcp -m tcp --dport 32768:60999 -j RETURN',
    '-A T-GW -d 198.18.0.0/24 -p udp -m udp --dport 32768:60999 -j RETURN',
    '-A T-GW -d 198.18.0.0/24 -p tcp -m tcp --dport 20080 -j RETURN',
    '-A T-GW -d 198.18.0.0/24 -p udp -m udp --dport 20080 -j RETURN',
    '-A T-GW -d 198.18.0.0/24 -j DROP',
    '-A T-GW -j T-EGRESS',
  ]);
  // The allowlist comes before the node's own subnets are refused.
  const allowed = gatewayRules(chains, { ports: [], subnets: ['10.0.0.0/16'], allow: ['10.0.0.2/32'] });
  expect(allowed.indexOf('-A T-GW -d 10.0.0.2/32 -j RETURN')).toBeGreaterThan(-1);
  expect(allowed.indexOf('-A T-GW -d 10.0.0.2/32 -j RETURN')).toBeLessThan(allowed.indexOf('-A T-GW -d 10.0.0.0/16 -j DROP'));
  expect(() => gatewayRules(chains, { ports: [], subnets: [], allow: ['10.0.0.2/32 -j ACCEPT'] })).toThrow(/subnet/);
  // Without subnets (none read): the host drop and the egress policy still hold.
  expect(gatewayRules(chains, { ports: [dynamic], subnets: [], allow: [] })).toContain('-A T-IN -i docker_gwbridge -j DROP');
  expect(gatewayRules(chains, { ports: [dynamic], subnets: [], allow: [] }).at(-1)).toBe('-A T-GW -j T-EGRESS');
});

test('only validated values reach a rule', () => {
  expect(() => gatewayRules(chains, { ports: [{ first: 0, last: 10 }], subnets: [], allow: [] })).toThrow(/port range/);
  expect(() => gatewayRules(chains, { ports: [{ first: 9, last: 8 }], subnets: [], allow: [] })).toThrow(/port range/);
  expect(() => gatewayRules(chains, { ports: [{ first: 1, last: 65536 }], subnets: [], allow: [] })).toThrow(/port range/);
  expect(() => gatewayRules(chains, { ports: [dynamic], subnets: ['10.0.0.0/8 -j ACCEPT'], allow: [] })).toThrow(/subnet/);
  expect(() => gatewayRules(chains, { ports: [dynamic], subnets: ['fe80::/64'], allow: [] })).toThrow(/subnet/);
});

test("the kernel's routing table gives the connected subnets; its port range the engine's", () => {
  const route = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'docker_gwbridge\t000013C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'eth1\t0000000A\t0101000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0',
    'lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0',
    '',
  ].join('\n');
  expect(connectedSubnets(route)).toEqual(['172.17.0.0/16', '198.18.0.0/24', '198.19.0.0/24']);
  expect(parsePortRange('32768\t60999\n')).toEqual(dynamic);
  expect(() => parsePortRange('60999')).toThrow(/port range/);
});
