/**
 * Users' networks on this host: created on demand when a container of the user is created, removed
 * a grace period after the user's last container goes (at once with a grace of 0), and the packet
 * filter (firewall.ts) rebuilt from them whenever one goes (and at start); a new one adds its own
 * rules. The grace keeps back-to-back creates from making the networks and their rules again each
 * time (~200 ms here). Work on one user's networks is serialized, so a create never races the
 * removal of the network it joins.
 */
import type Docker from 'dockerode';
import { ServiceUnavailableError, ValidationError } from '../common/errors';
import { LABELS } from '../common/labels';
import type { Logger } from '../common/logger';
import { BOATLOAD_BRIDGE, hostnameOf, isNetworkMode, userNetworkNames, type NetworkMode, type UserNetworkNames } from '../common/network-model';
import type { ContainerSpec } from '../common/container-spec';
import { engineError } from './engine-errors';
import type { Firewall, UserBridges } from './firewall';

export interface UserNetworksOptions {
  docker: Docker;
  logger: Logger;
  /** Null: no packet filter on this host (SATELLITE_FIREWALL=off). */
  firewall: Firewall | null;
  /** Labels this satellite's networks (the firewall's chain prefix), so that it manages only its own. */
  owner: string;
  /**
   * How long a user's networks stay after their last container goes (SATELLITE_NETWORK_GRACE_SECONDS);
   * 0: removed at once. A network whose timer a restart lost is removed by the sweep (host-engine.ts).
   */
  graceMs?: number;
}

/** What a container create needs from its networks. */
export interface NetworkPlan {
  names: UserNetworkNames;
  mode: NetworkMode;
  /** The alias on the user's network (its hostname), if any. */
  alias?: string;
}

export class UserNetworks {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Users' networks waiting out their grace period, by shared network name. */
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: UserNetworksOptions) {}

  /** The plan for a spec that names a user's network, else null (the engine's own networks). */
  planFor(spec: ContainerSpec): NetworkPlan | null {
    if (spec.network === undefined) return null;
    const names = userNetworkNames(spec.network);
    if (!names) return null;
    const mode = spec.labels[LABELS.network];
    if (mode === undefined || !isNetworkMode(mode) || mode === 'none') {
      throw ValidationError.field('network', `A user's network needs the ${LABELS.network} label set to private or internet.`);
    }
    return { names, mode, alias: hostnameOf(spec.labels) };
  }

  /** Serializes work on one user's networks. */
  withLock<T>(names: UserNetworkNames, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(names.shared) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(names.shared, settled);
    void settled.then(() => {
      if (this.locks.get(names.shared) === settled) this.locks.delete(names.shared);
    });
    return next;
  }

  /** Makes sure the user's networks exist (the egress one only when `mode` needs it); rules follow. */
  async ensure(plan: NetworkPlan, labels: Record<string, string>): Promise<void> {
    this.cancelRelease(plan.names);
    const wanted: Array<[string, string, 'shared' | 'egress']> = [[plan.names.shared, plan.names.sharedBridge, 'shared']];
    if (plan.mode === 'internet') wanted.push([plan.names.egress, plan.names.egressBridge, 'egress']);
    // Checked on the engine every time, never remembered: Docker quirk, a create naming a network
    // removed behind our back succeeds and only its start fails. Both at once: each is a round trip.
    const made = await Promise.all(wanted.map(([name, bridge, role]) => this.ensureNetwork(name, bridge, role, labels)));
    // New bridges: their rules are added (not every user's rebuilt); nothing when nothing was made.
    if (made.some(Boolean) && this.options.firewall) {
      await this.options.firewall.add({ key: plan.names.sharedBridge.slice(4), bridges: wanted.map(([, bridge]) => bridge), internal: plan.names.sharedBridge });
    }
  }

  private async ensureNetwork(name: string, bridge: string, role: 'shared' | 'egress', containerLabels: Record<string, string>): Promise<boolean> {
    let existing: { Labels?: Record<string, string> } | null = null;
    try {
      existing = await this.options.docker.getNetwork(name).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw engineError(err, `network ${name}`);
    }
    if (existing) {
      // A network another satellite's rules cover (another chain prefix) is not covered by ours: never join it unguarded.
      if (existing.Labels?.[LABELS.firewall] !== this.options.owner) {
        throw new ServiceUnavailableError(`The network ${name} is managed by another packet-filter chain than this satellite's (${this.options.owner}).`);
      }
      return false;
    }
    const labels: Record<string, string> = { [LABELS.firewall]: this.options.owner, [LABELS.networkRole]: role };
    for (const key of [LABELS.owner, LABELS.instance]) if (containerLabels[key] !== undefined) labels[key] = containerLabels[key];
    try {
      await this.options.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        // The shared network is internal: the engine gives it no way out; egress is a second network.
        Internal: role === 'shared',
        CheckDuplicate: true,
        Labels: labels,
        // Docker quirk: the bridge is `br-<network id>` unless named; a name we derive lets the
        // packet filter name it before any container runs. Inter-container traffic stays allowed.
        Options: { 'com.docker.network.bridge.name': bridge },
      });
    } catch (err) {
      // 409: created meanwhile by another request (or satellite); that is the network we want.
      if ((err as { statusCode?: number }).statusCode === 409) return false;
      throw engineError(err, `network ${name}`);
    }
    this.options.logger.info(`created network ${name} (${role})`);
    return true;
  }

  /** Create options for a container on the user's networks: the shared one, with its alias. */
  endpointConfig(plan: NetworkPlan): Docker.ContainerCreateOptions['NetworkingConfig'] {
    return { EndpointsConfig: { [plan.names.shared]: plan.alias ? { Aliases: [plan.alias] } : {} } };
  }

  /**
   * After create, before start: an `internet` container joins its egress network too (its default
   * route). Docker quirk (20.10, measured): each endpoint on a user-defined network makes the start
   * dearer than on the default bridge, ~75 ms for the first (the engine's DNS resolver: dockerd
   * re-executes itself into the container's namespace to set up iptables for 127.0.0.11; the default
   * bridge has none) and ~75 ms for this second one, which makes the engine run that set-up again
   * (README, "Benchmarks").
   */
  async attachEgress(plan: NetworkPlan, containerId: string): Promise<void> {
    if (plan.mode !== 'internet') return;
    try {
      await this.options.docker.getNetwork(plan.names.egress).connect({ Container: containerId });
    } catch (err) {
      throw engineError(err, `network ${plan.names.egress}`);
    }
  }

  /**
   * The user's last container may have gone: removes the networks now (grace 0) or once the grace
   * period has passed without a create for the user, if no container is on them then. A caller with
   * a grace of 0 must hold the user's lock (withLock); the timer takes it itself.
   */
  async release(names: UserNetworkNames): Promise<void> {
    const graceMs = this.options.graceMs ?? 0;
    if (graceMs <= 0) return this.releaseIfUnused(names);
    this.cancelRelease(names);
    const timer = setTimeout(() => {
      if (this.pending.get(names.shared) !== timer) return;
      this.pending.delete(names.shared);
      this.withLock(names, () => this.releaseIfUnused(names)).catch((err: Error) => this.options.logger.warn(`network cleanup failed: ${err.message}`));
    }, graceMs);
    // Never keeps the process alive: the sweep at the next start removes what a stop left.
    timer.unref();
    this.pending.set(names.shared, timer);
  }

  /** True while the user's networks wait out their grace period (the sweep leaves them alone). */
  inGrace(names: UserNetworkNames): boolean {
    return this.pending.has(names.shared);
  }

  /** Cancels every grace timer (a satellite stopping; the sweep at its next start removes the networks). */
  close(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private cancelRelease(names: UserNetworkNames): void {
    const timer = this.pending.get(names.shared);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(names.shared);
  }

  /**
   * Removes the user's networks when no container (running or not) is on them any more: only the
   * ones this satellite made (a warm run on a Swarm node was on the Swarm's overlays of those names,
   * which are the API's to remove).
   */
  async releaseIfUnused(names: UserNetworkNames): Promise<void> {
    const docker = this.options.docker;
    const inUse = await docker.listContainers({ all: true, filters: { network: [names.shared] } });
    if (inUse.length > 0) return;
    const ours = new Set((await docker.listNetworks({ filters: { label: [`${LABELS.firewall}=${this.options.owner}`] } })).map((n) => n.Name));
    let removed = false;
    for (const name of [names.egress, names.shared]) {
      if (!ours.has(name)) continue;
      try {
        await docker.getNetwork(name).remove();
        removed = true;
        this.options.logger.info(`removed network ${name}: its user has no container left here`);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 404) continue;
        // 403/409: still has endpoints (a container created meanwhile by another satellite); keep it.
        this.options.logger.warn(`network ${name} not removed: ${(err as Error).message}`);
      }
    }
    if (removed) await this.reconcile();
  }

  /**
   * The users whose networks this satellite manages here; `olderThanMs`: only networks made at least
   * that long ago (a sweep must not take the network of a create in progress in another process).
   */
  async userNetworks(olderThanMs = 0): Promise<UserNetworkNames[]> {
    const all = await this.options.docker.listNetworks({ filters: { label: [`${LABELS.firewall}=${this.options.owner}`] } });
    const networks = all.filter((n) => Date.now() - Date.parse(n.Created) >= olderThanMs);
    const shared = new Set(networks.map((n) => n.Name.replace(/-out$/, '')));
    return [...shared].map((name) => userNetworkNames(name)).filter((n): n is UserNetworkNames => n !== null);
  }

  /** This satellite's networks, as the firewall sees them. */
  async bridges(): Promise<UserBridges[]> {
    const networks = await this.options.docker.listNetworks({ filters: { label: [`${LABELS.firewall}=${this.options.owner}`] } });
    const users = new Map<string, UserBridges>();
    const namesOf = new Map<string, UserNetworkNames>();
    for (const network of networks) {
      const shared = network.Name.replace(/-out$/, '');
      const names = userNetworkNames(shared);
      const bridge = network.Options?.['com.docker.network.bridge.name'];
      if (!names || bridge === undefined || !BOATLOAD_BRIDGE.test(bridge) || (bridge !== names.sharedBridge && bridge !== names.egressBridge)) continue;
      const key = names.sharedBridge.slice(4);
      namesOf.set(key, names);
      const user = users.get(key) ?? { key, bridges: [], internal: names.sharedBridge };
      user.bridges.push(bridge);
      users.set(key, user);
    }
    for (const user of users.values()) {
      const names = namesOf.get(user.key);
      if (names && user.bridges.includes(names.egressBridge)) user.ownPorts = { bridge: names.egressBridge, ports: await this.publishedOn(names.egress) };
    }
    return [...users.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The host ports that running containers on a user's egress network publish (for the firewall). */
  private async publishedOn(network: string): Promise<Array<{ protocol: 'tcp' | 'udp'; port: number }>> {
    const containers = await this.options.docker.listContainers({ filters: { network: [network] } });
    const seen = new Map<string, { protocol: 'tcp' | 'udp'; port: number }>();
    for (const container of containers) {
      for (const binding of container.Ports ?? []) {
        const protocol = binding.Type;
        if ((protocol !== 'tcp' && protocol !== 'udp') || !binding.PublicPort) continue;
        seen.set(`${protocol}/${binding.PublicPort}`, { protocol, port: binding.PublicPort });
      }
    }
    return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  }

  /**
   * A started container's published ports: its owner's containers may reach them through the host
   * from the egress bridge (firewall.ts, `addOwnPorts`). The network is the engine's word (the
   * container's network mode), never a label. A container on no user's network changes no rule.
   */
  async addOwnPorts(networkMode: string, ports: ReadonlyArray<{ protocol: string; host_port: number | null }>): Promise<void> {
    const firewall = this.options.firewall;
    const names = userNetworkNames(networkMode);
    if (!firewall || !names) return;
    const own: Array<{ protocol: 'tcp' | 'udp'; port: number }> = [];
    for (const p of ports) if ((p.protocol === 'tcp' || p.protocol === 'udp') && p.host_port) own.push({ protocol: p.protocol, port: p.host_port });
    await firewall.addOwnPorts({ key: names.sharedBridge.slice(4), bridge: names.egressBridge, ports: own });
  }

  /** Rebuilds the packet filter from the networks (at start, and when a network comes or goes). */
  async reconcile(): Promise<void> {
    if (!this.options.firewall) return;
    await this.options.firewall.reconcile(() => this.bridges());
  }
}
