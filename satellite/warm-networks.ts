/**
 * The networks of warm members on this host (warm-members.ts). A member that will serve a `private`
 * or `internet` run waits on this satellite's holding network: internal (no way out), with traffic
 * between its containers off (members never reach each other), and the host's packet filter
 * dropping whatever it sends to or through the host (firewall.ts). It is on no user's network: it
 * belongs to nobody. At the take it joins its owner's networks as a cold create would (made on
 * demand, with their rules; the shared one with the hostname alias, then the egress one for
 * `internet`) and leaves the holding one, before the script starts.
 *
 * Docker quirk: a container made with NetworkMode none can never be connected to another network
 * ("container cannot be disconnected from host network or connected to host network"), hence a
 * network of our own to wait on. A member's HostConfig.NetworkMode keeps naming the holding network
 * after the take (the engine never rewrites it): its user's networks are read from its endpoints.
 *
 * On a Swarm node the owner's networks are the Swarm's attachable overlays, which the API made on a
 * manager (`overlays` in the take): the member joins them as they are, and the satellite makes no
 * bridge and no rule for them (a bridge of the same name would shadow the overlay on this engine).
 */
import type Docker from 'dockerode';
import { BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError } from '../common/errors';
import { LABELS } from '../common/labels';
import type { Logger } from '../common/logger';
import { HOSTNAME, holdingNetworkNames, userNetworkNames, USER_NETWORK, type HoldingNetworkNames } from '../common/network-model';
import type { WarmNetwork } from '../common/satellite-protocol';
import { engineError, engineMessage, isEngineNotFound } from './engine-errors';
import type { NetworkPlan, UserNetworks } from './user-networks';

export interface WarmNetworksOptions {
  docker: Docker;
  networks: UserNetworks;
  /** The packet filter's chain prefix (or BOATLOAD without one): names the holding network. */
  owner: string;
  logger: Logger;
}

export class WarmNetworks {
  readonly holding: HoldingNetworkNames;

  constructor(private readonly options: WarmNetworksOptions) {
    this.holding = holdingNetworkNames(options.owner);
  }

  /**
   * Makes sure the holding network exists (checked on the engine every time, as users' networks
   * are) and answers its name. `labels`: the member's; the network carries its installation label.
   */
  async ensureHolding(labels: Record<string, string>): Promise<string> {
    const { docker } = this.options;
    const { name, bridge } = this.holding;
    try {
      const existing = await docker.getNetwork(name).inspect();
      if (existing.Labels?.[LABELS.firewall] !== this.options.owner || existing.Internal !== true) {
        throw new ServiceUnavailableError(`The network ${name} is not this satellite's holding network.`);
      }
      return name;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err instanceof ServiceUnavailableError ? err : engineError(err, `network ${name}`);
    }
    const networkLabels: Record<string, string> = { [LABELS.firewall]: this.options.owner, [LABELS.networkRole]: 'holding' };
    if (labels[LABELS.instance] !== undefined) networkLabels[LABELS.instance] = labels[LABELS.instance];
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        Labels: networkLabels,
        // A named bridge, so that the packet filter drops what it sends to the host before it exists;
        // ICC off: members on it do not reach each other.
        Options: { 'com.docker.network.bridge.name': bridge, 'com.docker.network.bridge.enable_icc': 'false' },
      });
      this.options.logger.info(`created the warm members' holding network ${name}`);
    } catch (err) {
      // 409: made meanwhile by another member's create.
      if ((err as { statusCode?: number }).statusCode !== 409) throw engineError(err, `network ${name}`);
    }
    return name;
  }

  /**
   * Checks what a take asks to join (before the member is touched: a refused take leaves it
   * waiting): one user's shared network and, for `internet`, its egress network, with aliases on
   * the shared one only (as a cold create).
   */
  check(wanted: readonly WarmNetwork[]): WarmJoin {
    return planOf(wanted);
  }

  /**
   * Moves member `name` from the holding network onto the checked networks, in their order.
   * `overlays`: they are the Swarm's overlays, joined as they are (see the header).
   */
  async join(name: string, join: WarmJoin, overlays = false): Promise<void> {
    const { plan, wanted } = join;
    const { docker, networks } = this.options;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.getContainer(name).inspect();
    } catch (err) {
      throw engineError(err, `container ${name}`);
    }
    if (!info.NetworkSettings.Networks?.[this.holding.name]) throw new ConflictError('This warm member is not waiting on the holding network.');
    if (overlays) await this.joinOverlays(name, wanted);
    else {
      await networks.withLock(plan.names, async () => {
        await networks.ensure(plan, info.Config.Labels ?? {});
        for (const network of wanted) {
          try {
            await this.connect(name, network);
          } catch (err) {
            throw engineError(err, `network ${network.name}`);
          }
        }
      });
    }
    try {
      await docker.getNetwork(this.holding.name).disconnect({ Container: name });
    } catch (err) {
      throw engineError(err, `network ${this.holding.name}`);
    }
  }

  /**
   * Joins member `name` to the Swarm's overlays, in order. Docker quirk: a worker's engine resolves
   * an attachable overlay by name through the manager at the connect and keeps a local copy only
   * while something on the node is attached. A take's connect was seen to answer 404 "network ...
   * not found" although the overlay existed on the manager (the API makes sure of it just before the
   * take), most likely racing the teardown of that copy (the node's last task or container on the
   * overlay just went; not reproduced on demand). Such
   * a connect is retried (OVERLAY_JOIN_RETRY_MS), after re-reading the member's endpoints; any other
   * error, or a 404 that outlasts the retries, fails the take with the engine's own message.
   */
  private async joinOverlays(name: string, wanted: readonly WarmNetwork[]): Promise<void> {
    const { logger } = this.options;
    for (const network of wanted) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.connect(name, network);
          break;
        } catch (err) {
          if (!isEngineNotFound(err)) throw engineError(err, `network ${network.name}`);
          if (attempt >= OVERLAY_JOIN_RETRY_MS.length) throw new NotFoundError(`network ${network.name} not found on this node's engine (${engineMessage(err)}).`);
          logger.warn(`${name}: joining overlay ${network.name} answered "${engineMessage(err)}"; retrying in ${OVERLAY_JOIN_RETRY_MS[attempt]} ms`);
          await sleep(OVERLAY_JOIN_RETRY_MS[attempt]);
          if (await this.isOn(name, network.name)) break;
        }
      }
    }
  }

  /** Connects member `name` to `network`, with its aliases (the engine's error as it is). */
  private async connect(name: string, network: WarmNetwork): Promise<void> {
    const aliases = network.aliases ?? [];
    await this.options.docker.getNetwork(network.name).connect({ Container: name, EndpointConfig: aliases.length > 0 ? { Aliases: aliases } : {} });
  }

  /** Whether container `name` has an endpoint on network `network` (read on the engine). */
  private async isOn(name: string, network: string): Promise<boolean> {
    try {
      return (await this.options.docker.getContainer(name).inspect()).NetworkSettings.Networks?.[network] !== undefined;
    } catch (err) {
      throw engineError(err, `container ${name}`);
    }
  }
}

/** The waits before the retries of an overlay join that answered 404 (see joinOverlays). */
export const OVERLAY_JOIN_RETRY_MS: readonly number[] = [500, 1500];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A take's networks, checked (WarmNetworks.check). */
export interface WarmJoin {
  plan: NetworkPlan;
  wanted: WarmNetwork[];
}

/** The user's networks a take names, checked: the shared one first, then at most its egress one. */
function planOf(raw: readonly WarmNetwork[]): WarmJoin {
  const bad = (): BadRequestError => new BadRequestError("networks must name a user's network (aliases: DNS labels), then at most its egress network.");
  const list: unknown = raw;
  if (!Array.isArray(list) || list.length < 1 || list.length > 2) throw bad();
  const wanted = (list as unknown[]).map((item): WarmNetwork => {
    const { name, aliases } = (item ?? {}) as { name?: unknown; aliases?: unknown };
    if (typeof name !== 'string') throw bad();
    if (aliases === undefined) return { name };
    if (!Array.isArray(aliases) || !(aliases as unknown[]).every((a): a is string => typeof a === 'string' && HOSTNAME.test(a))) throw bad();
    return { name, aliases: aliases as string[] };
  });
  const names = USER_NETWORK.test(wanted[0].name) ? userNetworkNames(wanted[0].name) : null;
  if (!names || (wanted.length === 2 && (wanted[1].name !== names.egress || (wanted[1].aliases ?? []).length > 0))) throw bad();
  return { plan: { names, mode: wanted.length === 2 ? 'internet' : 'private', alias: wanted[0].aliases?.[0] }, wanted };
}
