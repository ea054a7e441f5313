/**
 * The host's packet-filter rules for BoatLoad's network model (iptables, whichever backend the
 * engine uses). The satellite owns chains named after its prefix P and two jumps into them:
 *
 *   filter INPUT       -> P-IN    (traffic from containers to the host itself)
 *   filter DOCKER-USER -> P-FWD   (traffic containers send through the host: Docker's hook)
 *
 *   P-IN:     ESTABLISHED,RELATED -> RETURN (answers to what the host opened, e.g. published ports)
 *             -i <each user bridge> -> DROP  (the API, the satellite, the engine, SSH: anything on the host)
 *             -i <holding bridge> -> DROP    (warm members waiting for a run: warm-networks.ts)
 *   P-FWD:    ESTABLISHED,RELATED -> RETURN
 *             -i <holding bridge> -> DROP    (nowhere through the host either)
 *             -i <a user's bridge> -> P-U<hash> (one chain per user: what that user's containers may open)
 *   P-U<hash>: -i B -o B -> RETURN           (the user's own containers, both bridges)
 *             -i <internal bridge> -> DROP   (private: nothing else)
 *             -> P-EGRESS
 *   P-EGRESS: -d 169.254.0.0/16 -> DROP; -o <any container bridge> -> DROP (other users, other networks);
 *             -d <BOATLOAD_EGRESS_ALLOW> -> RETURN; -d <non-public ranges> -> DROP; RETURN (the internet)
 *   P-GW:     on a Swarm node only: what containers leaving through docker_gwbridge (the swarm
 *             backend's `internet` containers) may open, with its P-IN and P-FWD rules (swarm-gateway.ts)
 *
 * A later per-port, per-direction policy between groups of containers hooks in at the user chain's
 * first rules: `-i B -o B` then jumps to a chain of accepts per (source group, destination group,
 * port), ending in DROP, instead of RETURN (bridged traffic passes through FORWARD: Docker loads
 * br_netfilter). Everything is rebuilt from the engine's labelled networks in one iptables-restore
 * transaction (atomic; stale rules disappear), so rules follow networks, never container addresses.
 * A user's new bridge (a user's first container here) is added by a smaller transaction instead
 * (`add`): the user's chain written again, the jumps for the new bridge appended, nothing re-read;
 * so is a started container's published port (`addOwnPorts`).
 *
 * Every value written into a rule is a validated bridge name, a CIDR from the validated
 * configuration or a constant; iptables is run with argv arrays, never through a shell.
 */
import { execFile, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from '../common/logger';
import { BOATLOAD_BRIDGE, holdingNetworkNames, LINK_LOCAL_IPV4, NON_PUBLIC_IPV4 } from '../common/network-model';
import { gatewayRules, type SwarmGateway } from './swarm-gateway';

const run = promisify(execFile);

/** A chain prefix: short enough that `P-U<10 hex>` fits iptables' 28 characters. */
export const CHAIN_PREFIX = /^[A-Z][A-Z0-9_]{0,14}$/;
const CIDR_V4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

export class FirewallError extends Error {}

export interface FirewallOptions {
  /** Chain prefix (SATELLITE_FIREWALL_CHAIN, default BOATLOAD). */
  prefix: string;
  /** BOATLOAD_EGRESS_ALLOW, already validated canonical IPv4 CIDRs. */
  egressAllow: readonly string[];
  logger: Logger;
  /** The iptables binary; default: the first of /usr/sbin/iptables, /sbin/iptables. */
  iptables?: string;
  /**
   * On a Swarm node: the rules for docker_gwbridge, every `internet` container's way out on the
   * swarm backend (swarm-gateway.ts, chain P-GW); absent: none.
   */
  swarmGateway?: SwarmGateway;
}

/** One user's bridges, as the engine's labelled networks say. */
export interface UserBridges {
  /** The hash part, 10 hex characters (names the user chain). */
  key: string;
  bridges: string[];
  /** The bridge of the internal (shared) network. */
  internal: string;
  /**
   * Host ports that this user's own containers publish here, each with the bridge the user's
   * traffic to them arrives on (the egress bridge: a container's default route). A link or a
   * template points a container at its target's host_ip:host_port; the engine's userland proxy
   * answers there on the host, so without these the host rule below would refuse it.
   */
  ownPorts?: { bridge: string; ports: ReadonlyArray<{ protocol: 'tcp' | 'udp'; port: number }> };
}

export class Firewall {
  private binary = '';
  private restoreBinary = '';
  private queue: Promise<void> = Promise.resolve();
  /** The bridges of each user chain as last written (by apply or add), by user key. */
  private readonly written = new Map<string, string[]>();
  /** The own-port rules as last written (`<bridge> <protocol>/<port>`), by user key. */
  private readonly writtenPorts = new Map<string, Set<string>>();

  /** The docker_gwbridge rules' inputs while the engine is a Swarm node (setSwarmGateway). */
  private swarmGateway: SwarmGateway | undefined;

  constructor(private readonly options: FirewallOptions) {
    this.swarmGateway = options.swarmGateway;
    if (!CHAIN_PREFIX.test(options.prefix)) throw new FirewallError(`invalid chain prefix "${options.prefix}"`);
    for (const cidr of options.egressAllow) if (!CIDR_V4.test(cidr)) throw new FirewallError(`invalid CIDR "${cidr}"`);
  }

  private get chains(): { input: string; forward: string; egress: string; gateway: string } {
    const p = this.options.prefix;
    return { input: `${p}-IN`, forward: `${p}-FWD`, egress: `${p}-EGRESS`, gateway: `${p}-GW` };
  }

  private userChain(key: string): string {
    return `${this.options.prefix}-U${key}`;
  }

  /**
   * Checks that rules can be managed here (iptables present, Docker's DOCKER-USER chain in the
   * same backend, the right to change it) and hooks the chains in. Throws FirewallError saying what
   * is missing: a satellite that enforces a policy must not start without it.
   */
  async start(): Promise<string> {
    this.binary = this.options.iptables ?? (await firstExisting(['/usr/sbin/iptables', '/sbin/iptables']));
    this.restoreBinary = `${this.binary}-restore`;
    let version: string;
    try {
      version = (await run(this.binary, ['--version'])).stdout.trim();
    } catch (err) {
      throw new FirewallError(`cannot run ${this.binary}: ${(err as Error).message}`);
    }
    try {
      await this.iptables(['-S', 'DOCKER-USER']);
    } catch (err) {
      throw new FirewallError(
        `${version}: no DOCKER-USER chain in this backend, or no right to read it (${(err as Error).message.trim()}); the engine must use the same iptables backend and the satellite needs CAP_NET_ADMIN`,
      );
    }
    await this.apply([]);
    return version;
  }

  /**
   * The engine joined a Swarm (a gateway) or left it (undefined): the next reconcile writes the
   * docker_gwbridge rules, or removes their chain.
   */
  setSwarmGateway(gateway: SwarmGateway | undefined): void {
    this.swarmGateway = gateway;
  }

  /**
   * Rewrites every rule from the users' bridges, read by `read` when its turn comes (serialized, so
   * the last state read is the one applied; one atomic transaction).
   */
  reconcile(read: () => Promise<readonly UserBridges[]>): Promise<void> {
    const next = this.queue.then(async () => this.apply(await read()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Adds a user's bridges that the rules do not name yet (their networks were just made, so no
   * container publishes a port on them): the user's chain is written again whole, and the host and
   * forward jumps are appended for the new bridges only. Serialized with reconcile; a no-op for
   * bridges already written, and for a user chain another process changed the full rebuild at the
   * next start or sweep repairs.
   */
  add(user: UserBridges): Promise<void> {
    const next = this.queue.then(async () => {
      this.check(user);
      const { input, forward } = this.chains;
      const before = this.written.get(user.key) ?? [];
      const bridges = [...new Set([...before, ...user.bridges])].sort();
      const fresh = bridges.filter((b) => !before.includes(b));
      if (fresh.length === 0) return;
      const chain = this.userChain(user.key);
      const lines = ['*filter', `:${chain} - [0:0]`];
      // Appended after every other user's rules: their order does not matter (each names its bridge).
      for (const bridge of fresh) lines.push(`-A ${input} -i ${bridge} -j DROP`, `-A ${forward} -i ${bridge} -j ${chain}`);
      lines.push(...this.userChainRules({ ...user, bridges }), 'COMMIT', '');
      await this.restore(lines.join('\n'));
      this.written.set(user.key, bridges);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A user's container published these host ports (it started): a RETURN for each that the rules do
   * not hold yet, inserted at the head of the host chain (after the answers rule, so before the
   * bridge's drop). A port freed by a delete goes with the rebuild that follows it.
   */
  addOwnPorts(own: { key: string; bridge: string; ports: ReadonlyArray<{ protocol: 'tcp' | 'udp'; port: number }> }): Promise<void> {
    const next = this.queue.then(async () => {
      this.check({ key: own.key, bridges: [own.bridge], internal: own.bridge, ownPorts: own });
      const held = this.writtenPorts.get(own.key) ?? new Set<string>();
      const fresh = own.ports.filter((p) => !held.has(`${own.bridge} ${p.protocol}/${p.port}`));
      if (fresh.length === 0) return;
      const lines = ['*filter', ...fresh.map((p) => `-I ${this.chains.input} 2 -i ${own.bridge} -p ${p.protocol} -m ${p.protocol} --dport ${p.port} -j RETURN`), 'COMMIT', ''];
      await this.restore(lines.join('\n'));
      for (const p of fresh) held.add(`${own.bridge} ${p.protocol}/${p.port}`);
      this.writtenPorts.set(own.key, held);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private check(user: UserBridges): void {
    if (!/^[0-9a-f]{10}$/.test(user.key) || !BOATLOAD_BRIDGE.test(user.internal) || !user.bridges.every((b) => BOATLOAD_BRIDGE.test(b))) {
      throw new FirewallError(`refusing an unexpected bridge set for ${user.key}`);
    }
    const own = user.ownPorts;
    const badPort = own && (!user.bridges.includes(own.bridge) || own.ports.some((p) => (p.protocol !== 'tcp' && p.protocol !== 'udp') || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535));
    if (badPort) throw new FirewallError(`refusing an unexpected published port for ${user.key}`);
  }

  /** What one user's containers may open (the user chain's rules). */
  private userChainRules(user: UserBridges): string[] {
    const chain = this.userChain(user.key);
    // The user's own containers (later: a jump to per-port rules between groups).
    const lines = user.bridges.map((bridge) => `-A ${chain} -i ${bridge} -o ${bridge} -j RETURN`);
    lines.push(`-A ${chain} -i ${user.internal} -j DROP`, `-A ${chain} -j ${this.chains.egress}`);
    return lines;
  }

  private async apply(users: readonly UserBridges[]): Promise<void> {
    const { input, forward, egress, gateway } = this.chains;
    for (const user of users) this.check(user);
    const swarmLines = await this.gatewayLines();
    const lines = ['*filter', `:${input} - [0:0]`, `:${forward} - [0:0]`, `:${egress} - [0:0]`];
    if (swarmLines.length > 0) lines.push(`:${gateway} - [0:0]`);
    for (const user of users) lines.push(`:${this.userChain(user.key)} - [0:0]`);
    const established = '-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN';
    lines.push(`-A ${input} ${established}`, `-A ${forward} ${established}`);
    // The warm members' holding bridge, whether or not it exists yet (a rule may name a future interface).
    const holding = holdingNetworkNames(this.options.prefix).bridge;
    lines.push(`-A ${input} -i ${holding} -j DROP`, `-A ${forward} -i ${holding} -j DROP`);
    for (const user of users) {
      const chain = this.userChain(user.key);
      // The user's own published ports, reached through the host (links, templates): only these.
      const own = user.ownPorts;
      if (own) for (const p of own.ports) lines.push(`-A ${input} -i ${own.bridge} -p ${p.protocol} -m ${p.protocol} --dport ${p.port} -j RETURN`);
      for (const bridge of user.bridges) {
        lines.push(`-A ${input} -i ${bridge} -j DROP`);
        lines.push(`-A ${forward} -i ${bridge} -j ${chain}`);
      }
      lines.push(...this.userChainRules(user));
    }
    lines.push(...swarmLines);
    lines.push(`-A ${egress} -d ${LINK_LOCAL_IPV4} -j DROP`);
    for (const bridge of ['docker0', 'docker_gwbridge', 'br-+', 'blp-+', 'ble-+']) lines.push(`-A ${egress} -o ${bridge} -j DROP`);
    for (const cidr of this.options.egressAllow) lines.push(`-A ${egress} -d ${cidr} -j RETURN`);
    for (const cidr of NON_PUBLIC_IPV4) lines.push(`-A ${egress} -d ${cidr} -j DROP`);
    lines.push(`-A ${egress} -j RETURN`, 'COMMIT', '');
    await this.restore(lines.join('\n'));
    this.written.clear();
    this.writtenPorts.clear();
    for (const user of users) {
      this.written.set(user.key, [...user.bridges].sort());
      const own = user.ownPorts;
      if (own) this.writtenPorts.set(user.key, new Set(own.ports.map((p) => `${own.bridge} ${p.protocol}/${p.port}`)));
    }
    // Again every time: a reload of the host's firewall (or a hand) may have dropped them.
    await this.ensureJump('INPUT');
    await this.ensureJump('DOCKER-USER');
    const keep = new Set(users.map((u) => this.userChain(u.key)));
    if (swarmLines.length > 0) keep.add(gateway);
    await this.removeStaleChains(keep);
  }

  /** The docker_gwbridge rules on a Swarm node (swarm-gateway.ts), else none. */
  private async gatewayLines(): Promise<string[]> {
    const gateway = this.swarmGateway;
    if (!gateway) return [];
    try {
      return gatewayRules(this.chains, { ports: gateway.publishedPorts, subnets: await gateway.subnets(), allow: this.options.egressAllow });
    } catch (err) {
      throw new FirewallError(`docker_gwbridge rules: ${(err as Error).message}`);
    }
  }

  /**
   * User chains of users who have no network any more, and the gateway chain of a satellite that
   * no longer runs on a Swarm node (unreferenced after the restore).
   */
  private async removeStaleChains(keep: ReadonlySet<string>): Promise<void> {
    const { stdout } = await this.iptables(['-S']);
    const userPrefix = `-N ${this.options.prefix}-U`;
    for (const line of stdout.split('\n')) {
      if (!line.startsWith(userPrefix) && line !== `-N ${this.chains.gateway}`) continue;
      const chain = line.slice(3).trim();
      if (keep.has(chain)) continue;
      await this.iptables(['-F', chain]).catch(() => undefined);
      await this.iptables(['-X', chain]).catch((err: Error) => this.options.logger.warn(`firewall: cannot remove ${chain}: ${err.message}`));
    }
  }

  private async ensureJump(from: 'INPUT' | 'DOCKER-USER'): Promise<void> {
    const target = from === 'INPUT' ? this.chains.input : this.chains.forward;
    try {
      await this.iptables(['-C', from, '-j', target]);
    } catch {
      await this.iptables(['-I', from, '1', '-j', target]);
    }
  }

  /** Removes the jumps and every chain of this prefix (tests; an operator turning the policy off). */
  async remove(): Promise<void> {
    await this.queue;
    this.written.clear();
    this.writtenPorts.clear();
    const { input, forward } = this.chains;
    for (const [from, target] of [['INPUT', input], ['DOCKER-USER', forward]]) {
      for (;;) {
        try {
          await this.iptables(['-D', from, '-j', target]);
        } catch {
          break;
        }
      }
    }
    const { stdout } = await this.iptables(['-S']);
    const chains = stdout.split('\n').filter((l) => l.startsWith(`-N ${this.options.prefix}-`)).map((l) => l.slice(3).trim());
    for (const chain of chains) await this.iptables(['-F', chain]).catch(() => undefined);
    for (const chain of chains) await this.iptables(['-X', chain]).catch(() => undefined);
  }

  /** This prefix's rules as `iptables -S` prints them (tests, diagnostics). */
  async rules(): Promise<string[]> {
    const { stdout } = await this.iptables(['-S']);
    return stdout.split('\n').filter((l) => l.includes(`${this.options.prefix}-`));
  }

  private iptables(args: string[]): Promise<{ stdout: string }> {
    // -w: wait for the xtables lock (the engine changes rules too).
    return run(this.binary, ['-w', ...args]);
  }

  private restore(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.restoreBinary, ['-w', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new FirewallError(`iptables-restore failed (${code}): ${stderr.trim()}`))));
      child.stdin.end(text);
    });
  }
}

async function firstExisting(paths: string[]): Promise<string> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      // next
    }
  }
  throw new FirewallError(`iptables is not installed (looked for ${paths.join(', ')})`);
}
