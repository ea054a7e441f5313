/**
 * Which addresses server-side downloads may reach. By default only public unicast addresses:
 * loopback, private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, unique-local,
 * multicast and reserved ranges are refused, so a user cannot make BoatLoad fetch from the inside
 * of its own network (SSRF). Operators who need an internal mirror allow CIDRs explicitly.
 */
import ipaddr from 'ipaddr.js';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { ConfigError, type Env } from './env';

export class AddressPolicy {
  private readonly allowed: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  /** `allowList`: CIDRs (e.g. `127.0.0.0/8`, `fd00::/8`) that are allowed although not public. */
  constructor(allowList: readonly string[] = []) {
    this.allowed = allowList.map((cidr) => ipaddr.parseCIDR(cidr));
  }

  /** Parses a comma-separated CIDR list; throws with the bad entry named. */
  static fromList(raw: string | undefined, name: string): AddressPolicy {
    const entries = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const entry of entries) {
      if (!ipaddr.isValidCIDR(entry)) throw new Error(`${name}: "${entry}" is not a CIDR such as 10.0.0.0/8`);
    }
    return new AddressPolicy(entries);
  }

  /** null when the address may be reached, else why not. */
  problem(address: string): string | null {
    if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
    const ip = ipaddr.process(address);
    if (this.allowed.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))) return null;
    const range = ip.range();
    return range === 'unicast' ? null : `${address} is a ${range} address`;
  }

  /** A dns.lookup replacement for http agents: resolves, then refuses addresses the policy forbids. */
  lookup(): typeof dnsLookup {
    const guarded = (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const refused = addresses.map((a) => this.problem(a.address)).filter((p): p is string => p !== null);
        if (refused.length) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} resolves to a non-public address (${refused[0]}); allow it with BOATLOAD_DOWNLOAD_ALLOW`);
          error.code = 'EADDRNOTALLOWED';
          return callback(error, []);
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
    return guarded as unknown as typeof dnsLookup;
  }

  /** For URLs whose host is a literal IP (no lookup happens for those). */
  literalHostProblem(hostname: string): string | null {
    const bare = hostname.replace(/^\[|\]$/g, '');
    return isIP(bare) ? this.problem(bare) : null;
  }
}

/** BOATLOAD_DOWNLOAD_ALLOW, shared by the API (scripturl) and the satellite (dataurl). */
export function downloadPolicyFromEnv(env: Env): AddressPolicy {
  try {
    return AddressPolicy.fromList(env.BOATLOAD_DOWNLOAD_ALLOW, 'BOATLOAD_DOWNLOAD_ALLOW');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
