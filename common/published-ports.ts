/** The engine's published-port bindings → PublishedPort records (shared by the satellite and the swarm backend). */
import type { PublishedPort } from './satellite-protocol';

/** One binding as the engine reports it (inspect's NetworkSettings.Ports, a listing's Ports, a task's PortStatus). */
export interface PortBinding {
  port: number;
  protocol: string;
  /** The address the engine binds ('' , 0.0.0.0 or :: for every address). */
  ip: string;
  hostPort: number;
}

const EVERY_ADDRESS = new Set(['', '0.0.0.0', '::']);

/**
 * One record per container port and protocol (the engine lists an IPv4 and an IPv6 binding for
 * each), sorted by port then protocol so two reads of the same state compare equal. A binding on
 * every address is reached at `advertisedIp`.
 */
export function publishedPortsOf(bindings: readonly PortBinding[], advertisedIp: string): PublishedPort[] {
  const byKey = new Map<string, PublishedPort>();
  for (const binding of bindings) {
    if (binding.protocol !== 'tcp' && binding.protocol !== 'udp') continue;
    if (!(binding.hostPort >= 1 && binding.hostPort <= 65535)) continue;
    const key = `${binding.port}/${binding.protocol}`;
    const everywhere = EVERY_ADDRESS.has(binding.ip);
    // Docker quirk: with IPv6 enabled each port is listed twice (0.0.0.0 and ::): keep the first.
    if (byKey.has(key)) continue;
    byKey.set(key, { port: binding.port, protocol: binding.protocol, host_ip: everywhere ? advertisedIp : binding.ip, host_port: binding.hostPort });
  }
  return [...byKey.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/** Whether two port lists say the same (absent and empty are the same). */
export function samePorts(a: readonly PublishedPort[] | undefined, b: readonly PublishedPort[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((p, i) => p.port === right[i].port && p.protocol === right[i].protocol && p.host_ip === right[i].host_ip && p.host_port === right[i].host_port);
}
