/**
 * BoatLoad's network model, shared by the API (which names a container's network and mode) and
 * the satellite (which creates the networks and owns the packet-filter rules derived from them).
 *
 * Each user has, per installation and host, one internal bridge network that all their containers
 * join with their hostname as an alias (they reach each other by name; nothing leaves it), and one
 * egress network that only their `internet` containers also join (the default route). Names come
 * from a hash of the installation and the owner: user names never reach the engine as names.
 */
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { LABELS } from './labels';

export const NETWORK_MODES = ['none', 'private', 'internet'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export function isNetworkMode(value: string): value is NetworkMode {
  return (NETWORK_MODES as readonly string[]).includes(value);
}

/** RFC 1123 label, lowercase: letters, digits and inner dashes, 1-63 characters. */
export const HOSTNAME = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The hostname a container's labels ask for, if it is a valid one (units carry it as a label). */
export function hostnameOf(labels: Record<string, string>): string | undefined {
  const name = labels[LABELS.hostname];
  return name !== undefined && HOSTNAME.test(name) ? name : undefined;
}

/** The internal network of one user: `boatload-net-<16 hex>`. */
export const USER_NETWORK = /^boatload-net-([0-9a-f]{16})$/;

export interface UserNetworkNames {
  /** The internal network every container of the user joins (aliases live here). */
  shared: string;
  /** The network `internet` containers join as well, for their default route. */
  egress: string;
  /** Linux bridge names (≤ 15 characters), set explicitly so the packet filter can name them. */
  sharedBridge: string;
  egressBridge: string;
}

/** The network name of `owner`'s containers in installation `instanceId`. */
export function userNetworkName(instanceId: string, owner: string): string {
  const digest = createHash('sha256').update(`${instanceId}\0${owner}`).digest('hex');
  return `boatload-net-${digest.slice(0, 16)}`;
}

/** Every name derived from a user network's name; null when it is not one. */
export function userNetworkNames(shared: string): UserNetworkNames | null {
  const match = USER_NETWORK.exec(shared);
  if (!match) return null;
  const short = match[1].slice(0, 10);
  return { shared, egress: `${shared}-out`, sharedBridge: `blp-${short}`, egressBridge: `ble-${short}` };
}

/**
 * The network a warm pool template names for members that serve `private` and `internet` runs: the
 * satellite puts them on its holding network (holdingNetworkNames) instead, and a take moves them
 * onto their owner's networks. Docker quirk: a container made with NetworkMode none can never be
 * connected to another network, so such members cannot wait on `none`.
 */
export const WARM_HOLDING = 'boatload-warm-holding';

/** A satellite's holding network: internal, no traffic between its containers, its bridge named. */
export interface HoldingNetworkNames {
  name: string;
  bridge: string;
}

/** The holding network of the satellite whose packet-filter chains (or owner label) are `owner`. */
export function holdingNetworkNames(owner: string): HoldingNetworkNames {
  const short = createHash('sha256').update(`hold\0${owner}`).digest('hex').slice(0, 10);
  return { name: `boatload-hold-${short}`, bridge: `blh-${short}` };
}

/** Bridge names the packet filter accepts (what userNetworkNames makes, nothing else). */
export const BOATLOAD_BRIDGE = /^bl[pe]-[0-9a-f]{10}$/;

/**
 * Ranges a container never reaches unless BOATLOAD_EGRESS_ALLOW opens them: private (RFC 1918),
 * carrier-grade NAT, "this network", loopback, multicast and reserved. Link-local (metadata) is
 * refused before the allowlist is even read.
 */
export const NON_PUBLIC_IPV4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'];
export const LINK_LOCAL_IPV4 = '169.254.0.0/16';

/** Parses BOATLOAD_EGRESS_ALLOW (comma-separated IPv4 CIDRs) into canonical CIDRs; throws naming the entry. */
export function parseEgressAllow(raw: string | undefined): string[] {
  const entries = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return entries.map((entry) => {
    if (!ipaddr.IPv4.isValidCIDR(entry)) throw new Error(`BOATLOAD_EGRESS_ALLOW: "${entry}" is not an IPv4 CIDR such as 10.1.0.0/16`);
    const [address, bits] = ipaddr.IPv4.parseCIDR(entry);
    const network = ipaddr.IPv4.networkAddressFromCIDR(entry).toString();
    if (address.match(ipaddr.IPv4.parseCIDR(LINK_LOCAL_IPV4))) throw new Error(`BOATLOAD_EGRESS_ALLOW: "${entry}" is link-local (cloud metadata); it cannot be allowed`);
    return `${network}/${bits}`;
  });
}
