/**
 * The packet-filter rules for a Swarm node's `docker_gwbridge`: the way out of every `internet`
 * container on the swarm backend (a user's `-out` overlay gives its tasks this bridge as their
 * default route; overlays themselves live in VXLAN namespaces no host rule sees). Unlike the local
 * backend's per-user bridges, the bridge is shared by all users, so these rules hold for everyone
 * alike (other users' containers on it are kept apart by the engine: `enable_icc=false`):
 *
 *   P-IN:  -i docker_gwbridge, a published-port range  -> RETURN  (links and templates: the engine's
 *                                                                  proxy answers on the host)
 *          -i docker_gwbridge                          -> DROP    (the node's own addresses and services)
 *   P-FWD: -i docker_gwbridge                          -> P-GW
 *   P-GW:  ctstate DNAT                                -> RETURN  (a published port, rewritten by the engine)
 *          -d <a subnet on the node's own links>, a published-port range -> RETURN (another node's port)
 *          -d <a subnet on the node's own links>       -> DROP    (the other nodes: satellites, Swarm, SSH)
 *          -> P-EGRESS (link-local, container bridges, the allowlist, non-public ranges: as locally)
 *
 * Published ports are engine-chosen (the engine's dynamic range: the kernel's ip_local_port_range)
 * or fixed inside BOATLOAD_HOST_PORTS: those ranges are what a link or a `#id.port` template may
 * point at. The subnets are read from the kernel's routing table at every rebuild.
 */
import { readFile } from 'node:fs/promises';
import type { PortRange } from '../common/host-ports';

/** Docker's bridge for the default route of containers on overlays (fixed name). */
export const SWARM_GATEWAY_BRIDGE = 'docker_gwbridge';
const CIDR_V4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

export interface SwarmGateway {
  /** The host ports a published port can have (engine-chosen and fixed). */
  publishedPorts: readonly PortRange[];
  /** The subnets directly on the node's own links, read when the rules are rebuilt. */
  subnets: () => Promise<string[]>;
}

export interface GatewayChains {
  input: string;
  forward: string;
  gateway: string;
  egress: string;
}

function checkPorts(ranges: readonly PortRange[]): void {
  for (const r of ranges) {
    if (!Number.isInteger(r.first) || !Number.isInteger(r.last) || r.first < 1 || r.last > 65535 || r.first > r.last) {
      throw new Error(`refusing a port range ${r.first}-${r.last}`);
    }
  }
}

const dport = (r: PortRange): string => (r.first === r.last ? String(r.first) : `${r.first}:${r.last}`);

/** What the docker_gwbridge rules are made of: the published port ranges, the node's connected subnets, the egress allowlist. */
export interface GatewayInputs {
  ports: readonly PortRange[];
  subnets: readonly string[];
  /** BOATLOAD_EGRESS_ALLOW: allowed before the node's own subnets are refused, as on the local backend. */
  allow: readonly string[];
}

/** The rule lines (iptables-restore syntax, without the chain declarations) for docker_gwbridge. */
export function gatewayRules(chains: GatewayChains, inputs: GatewayInputs): string[] {
  const { ports, subnets, allow } = inputs;
  checkPorts(ports);
  for (const subnet of [...subnets, ...allow]) if (!CIDR_V4.test(subnet)) throw new Error(`refusing a subnet "${subnet}"`);
  const bridge = SWARM_GATEWAY_BRIDGE;
  const lines: string[] = [];
  for (const r of ports) for (const proto of ['tcp', 'udp']) lines.push(`-A ${chains.input} -i ${bridge} -p ${proto} -m ${proto} --dport ${dport(r)} -j RETURN`);
  lines.push(`-A ${chains.input} -i ${bridge} -j DROP`, `-A ${chains.forward} -i ${bridge} -j ${chains.gateway}`);
  lines.push(`-A ${chains.gateway} -m conntrack --ctstate DNAT -j RETURN`);
  // The allowlist holds on the node's own subnets too (a resolver or a database on the nodes' LAN).
  for (const cidr of allow) lines.push(`-A ${chains.gateway} -d ${cidr} -j RETURN`);
  for (const subnet of subnets) {
    for (const r of ports) for (const proto of ['tcp', 'udp']) lines.push(`-A ${chains.gateway} -d ${subnet} -p ${proto} -m ${proto} --dport ${dport(r)} -j RETURN`);
  }
  for (const subnet of subnets) lines.push(`-A ${chains.gateway} -d ${subnet} -j DROP`);
  lines.push(`-A ${chains.gateway} -j ${chains.egress}`);
  return lines;
}

/**
 * The IPv4 subnets of the links this network namespace's routing table says are directly
 * connected (`/proc/net/route`: no gateway), except loopback and the default route. On a Swarm
 * node, the nodes' own network, and every container bridge's.
 */
export function connectedSubnets(procNetRoute: string): string[] {
  const found = new Set<string>();
  for (const line of procNetRoute.split('\n').slice(1)) {
    const [iface, destination, gateway, , , , , mask] = line.trim().split(/\s+/);
    if (!iface || iface === 'lo' || !/^[0-9A-F]{8}$/i.test(destination ?? '') || !/^[0-9A-F]{8}$/i.test(mask ?? '')) continue;
    if (Number.parseInt(gateway, 16) !== 0 || Number.parseInt(mask, 16) === 0) continue;
    // Little-endian hex, as the kernel prints it.
    const octets = (hex: string): number[] => [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    const bits = octets(mask).reduce((n, o) => n + o.toString(2).replace(/0/g, '').length, 0);
    found.add(`${octets(destination).join('.')}/${bits}`);
  }
  return [...found].sort();
}

/** `32768\t60999` (ip_local_port_range) as a range. */
export function parsePortRange(text: string): PortRange {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const range = match ? { first: Number(match[1]), last: Number(match[2]) } : null;
  if (!range) throw new Error(`not a port range: "${text.trim()}"`);
  checkPorts([range]);
  return range;
}

/**
 * This node's gateway policy: the engine picks published ports from the kernel's dynamic range
 * (Docker reads the same file), plus the administrator's fixed ports.
 */
export async function swarmGatewayOf(fixed: readonly PortRange[]): Promise<SwarmGateway> {
  const dynamic = parsePortRange(await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  return { publishedPorts: [dynamic, ...fixed], subnets: async () => connectedSubnets(await readFile('/proc/net/route', 'utf8')) };
}
