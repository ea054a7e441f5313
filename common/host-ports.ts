/**
 * Fixed host ports: where the administrator lets containers and units publish a port of their own
 * choosing (BOATLOAD_HOST_PORTS, e.g. `20000-20999` or `8080,20000-20999`). Outside it the engine
 * chooses the host port. Empty: no fixed host ports at all.
 */

export const HOST_PORTS_VARIABLE = 'BOATLOAD_HOST_PORTS';

export interface PortRange {
  first: number;
  last: number;
}

/** The allowed fixed host ports, as inclusive ranges. */
export class HostPortPolicy {
  constructor(readonly ranges: readonly PortRange[]) {}

  static none(): HostPortPolicy {
    return new HostPortPolicy([]);
  }

  /** Parses `20000-20999,8080`; throws Error naming what is wrong (the config module names the variable). */
  static parse(text: string): HostPortPolicy {
    const ranges: PortRange[] = [];
    for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
      const first = match ? Number(match[1]) : NaN;
      const last = match ? Number(match[2] ?? match[1]) : NaN;
      if (!(first >= 1 && last <= 65535 && first <= last)) throw new Error(`"${part}" is not a port (1-65535) or a range FIRST-LAST`);
      ranges.push({ first, last });
    }
    return new HostPortPolicy(ranges);
  }

  allows(port: number): boolean {
    return this.ranges.some((range) => port >= range.first && port <= range.last);
  }

  /** `20000-20999, 8080`, or `none`. */
  describe(): string {
    return this.ranges.length === 0 ? 'none' : this.ranges.map((r) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`)).join(', ');
  }

  /** Why a fixed host port is refused (naming the variable), or null. */
  problem(port: number): string | null {
    if (this.allows(port)) return null;
    if (this.ranges.length === 0) return `Fixed host ports are not allowed here (the administrator allows none: ${HOST_PORTS_VARIABLE}); leave host_port out and the engine chooses one.`;
    return `Host port ${port} is outside the administrator's range (${HOST_PORTS_VARIABLE}: ${this.describe()}).`;
  }
}
