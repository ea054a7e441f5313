/**
 * Users' networks on the Swarm backend: the overlay counterpart of the satellite's bridges
 * (satellite/user-networks.ts), made and removed by the API on the manager.
 *
 *   boatload-net-<hash>      internal, attachable overlay: every container of the user, its hostname
 *                            as an alias (they reach each other by name on any node); no way out
 *   boatload-net-<hash>-out  attachable overlay: `internet` containers join it too; Swarm then gives
 *                            their task docker_gwbridge, its default route and host-mode ports
 *   boatload-iso-<hash>      internal overlay of one `none` container alone (Swarm services cannot
 *                            use the engine's `none` network: "network none not found")
 *
 * Another user's containers share no overlay with these and have no route into them (an internal
 * overlay has no gateway; an overlay's addresses live in VXLAN namespaces, not on the hosts' routes).
 * Networks are created on a service's creation and removed once no service of the installation
 * refers to them (a sweep: Swarm refuses the removal while the last tasks are still shutting down).
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../../common/container-spec';
import { LABELS } from '../../common/labels';
import type { Logger } from '../../common/logger';
import { hostnameOf, isNetworkMode, userNetworkNames } from '../../common/network-model';

/** Names of the overlays this module makes (the sweep touches nothing else). */
const OVERLAY_NAME = /^boatload-(net-[0-9a-f]{16}(-out)?|iso-[0-9a-f]{16})$/;

export interface OverlayPlan {
  /** The overlays the service needs, the first one its own (the lock key). */
  networks: Array<{ name: string; internal: boolean; role: 'shared' | 'egress' | 'isolated' }>;
  /** The service's network attachments. */
  attachments: Docker.NetworkAttachmentConfig[];
}

/**
 * The overlays for a container spec, or null when it names no user's network nor `none` (a unit
 * written by hand with another network: used as it is).
 */
export function overlayPlanFor(spec: ContainerSpec): OverlayPlan | null {
  if (spec.network === 'none') {
    const name = `boatload-iso-${createHash('sha256').update(spec.name).digest('hex').slice(0, 16)}`;
    return { networks: [{ name, internal: true, role: 'isolated' }], attachments: [{ Target: name }] };
  }
  const names = spec.network === undefined ? null : userNetworkNames(spec.network);
  if (!names) return null;
  const mode = spec.labels[LABELS.network];
  const internet = mode === undefined || !isNetworkMode(mode) || mode === 'internet';
  const alias = hostnameOf(spec.labels);
  const plan: OverlayPlan = {
    networks: [{ name: names.shared, internal: true, role: 'shared' }],
    attachments: [alias ? { Target: names.shared, Aliases: [alias] } : { Target: names.shared }],
  };
  if (internet) {
    plan.networks.push({ name: names.egress, internal: false, role: 'egress' });
    plan.attachments.push({ Target: names.egress });
  }
  return plan;
}

export interface SwarmNetworksOptions {
  docker: Docker;
  /** `key=value` of this installation: every overlay made here carries it. */
  instanceLabel: string;
  logger: Logger;
  /** An overlay younger than this is never swept (a create may be about to use it). */
  sweepGraceMs: number;
}

interface EngineNetwork {
  Id: string;
  Name: string;
  Created?: string;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;

export class SwarmNetworks {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly instance: { key: string; value: string };

  constructor(private readonly options: SwarmNetworksOptions) {
    const equals = options.instanceLabel.indexOf('=');
    this.instance = { key: options.instanceLabel.slice(0, equals), value: options.instanceLabel.slice(equals + 1) };
  }

  /** Runs `work` (the service's creation) with the plan's overlays present, never during their sweep. */
  withOverlays<T>(plan: OverlayPlan, labels: Record<string, string>, work: () => Promise<T>): Promise<T> {
    return this.locked(plan.networks[0].name, async () => {
      await Promise.all(plan.networks.map((network) => this.ensure(network, labels)));
      return work();
    });
  }

  private locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }

  private async ensure(network: OverlayPlan['networks'][number], containerLabels: Record<string, string>): Promise<void> {
    const labels: Record<string, string> = { [this.instance.key]: this.instance.value, [LABELS.networkRole]: network.role };
    if (containerLabels[LABELS.owner] !== undefined) labels[LABELS.owner] = containerLabels[LABELS.owner];
    try {
      await this.options.docker.createNetwork({
        Name: network.name,
        Driver: 'overlay',
        Internal: network.internal,
        // Attachable: a standalone container (a debugging shell, a warm member) may join it too.
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
      });
      this.options.logger.info(`created overlay ${network.name} (${network.role})`);
    } catch (err) {
      // 409: it exists (made earlier, or meanwhile by another request): that is the one we want.
      if (statusOf(err) !== 409) throw err;
    }
  }

  /**
   * Removes this installation's overlays that no service refers to any more (older than the grace).
   * `services`: every service of the installation, as just listed.
   */
  async sweep(services: ReadonlyArray<{ Spec?: { TaskTemplate?: { Networks?: Docker.NetworkAttachmentConfig[] } } }>): Promise<string[]> {
    const networks = (await this.options.docker.listNetworks({ filters: { label: [this.options.instanceLabel], driver: ['overlay'] } })) as EngineNetwork[];
    const used = new Set<string>();
    for (const service of services) for (const attachment of service.Spec?.TaskTemplate?.Networks ?? []) if (attachment.Target) used.add(attachment.Target);
    const removed: string[] = [];
    for (const network of networks) {
      if (!OVERLAY_NAME.test(network.Name) || used.has(network.Id) || used.has(network.Name)) continue;
      if (network.Created && Date.now() - Date.parse(network.Created) < this.options.sweepGraceMs) continue;
      const gone = await this.locked(this.lockKeyOf(network.Name), () => this.remove(network));
      if (gone) removed.push(network.Name);
    }
    return removed;
  }

  /** The lock of a user's overlays is their shared one's name (an egress overlay goes with it). */
  private lockKeyOf(name: string): string {
    return name.replace(/-out$/, '');
  }

  private async remove(network: EngineNetwork): Promise<boolean> {
    try {
      await this.options.docker.getNetwork(network.Id).remove();
      this.options.logger.info(`removed overlay ${network.Name}: no container uses it any more`);
      return true;
    } catch (err) {
      // 404: gone already; otherwise still in use (a task shutting down, a service made meanwhile).
      if (statusOf(err) !== 404) this.options.logger.debug(`overlay ${network.Name} not removed yet: ${(err as Error).message}`);
      return false;
    }
  }
}
