/**
 * Follows whether the satellite's engine is a Swarm node. The docker_gwbridge rules
 * (swarm-gateway.ts) must hold from the moment the engine joins: a satellite started before the
 * join (BoatLoad installed first, the node joined later) would otherwise write none until it was
 * restarted, and one whose engine left would keep a chain for a bridge no task uses. The engine is
 * asked every `intervalMs`; a change is handed to `onChange`, and a change it fails to apply is
 * tried again at the next check.
 */
import type { PortRange } from '../common/host-ports';
import type { Logger } from '../common/logger';
import type { Firewall } from './firewall';
import { swarmGatewayOf } from './swarm-gateway';

export interface SwarmMembershipOptions {
  /** Whether the engine is a node of an active Swarm now (docker info). */
  isSwarmNode: () => Promise<boolean>;
  /** What the satellite's start already applied. */
  initial: boolean;
  /** Applies a change (the firewall's gateway rules). */
  onChange: (swarm: boolean) => Promise<void>;
  intervalMs: number;
  logger: Logger;
}

export class SwarmMembership {
  private current: boolean;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(private readonly options: SwarmMembershipOptions) {
    this.current = options.initial;
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the engine (also for tests); a look already under way is shared. */
  check(): Promise<void> {
    this.checking ??= this.look().finally(() => (this.checking = null));
    return this.checking;
  }

  private async look(): Promise<void> {
    let swarm: boolean;
    try {
      swarm = await this.options.isSwarmNode();
    } catch (err) {
      this.options.logger.warn(`swarm membership: the engine did not answer: ${(err as Error).message}`);
      return;
    }
    if (swarm === this.current) return;
    try {
      await this.options.onChange(swarm);
      this.current = swarm;
      this.options.logger.info(swarm ? 'the engine joined a Swarm: docker_gwbridge guarded' : 'the engine left its Swarm: docker_gwbridge rules removed');
    } catch (err) {
      this.options.logger.error(`swarm membership: ${swarm ? 'joined' : 'left'}, but the firewall could not follow (tried again in ${this.options.intervalMs} ms): ${(err as Error).message}`);
    }
  }
}

/**
 * The change a membership change makes (SwarmMembershipOptions.onChange): the firewall's gateway
 * rules for the engine's new membership (`hostPorts`: BOATLOAD_HOST_PORTS), then a rebuild of every
 * rule (`rebuild`: the user networks' reconcile, which rewrites the firewall whole).
 */
export function followGateway(input: { firewall: Pick<Firewall, 'setSwarmGateway'>; hostPorts: readonly PortRange[]; rebuild: () => Promise<void> }): (swarm: boolean) => Promise<void> {
  return async (swarm) => {
    input.firewall.setSwarmGateway(swarm ? await swarmGatewayOf(input.hostPorts) : undefined);
    await input.rebuild();
  };
}
