/** This host's identity as a machine of the cluster: a stable id derived from the engine's own ID. */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { MachineInfo } from '../common/satellite-protocol';

/** The address other machines reach this one at: SATELLITE_PUBLIC_IP, else the first non-internal IPv4. */
export function advertisedAddress(publicIp: string | undefined): string {
  return publicIp ?? firstExternalIPv4();
}

function firstExternalIPv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export function machineInfoReader(input: { docker: Docker; publicIp?: string; metadata: Record<string, string> }): () => Promise<MachineInfo> {
  let cached: MachineInfo | null = null;
  return async () => {
    if (cached) return cached;
    const [info, version] = await Promise.all([input.docker.info() as Promise<{ ID: string; Name: string }>, input.docker.version()]);
    cached = {
      // fleet machine ids are 32 hex chars; the engine ID is stable for the life of its data root.
      id: createHash('sha256').update(info.ID).digest('hex').slice(0, 32),
      hostname: info.Name,
      primaryIP: advertisedAddress(input.publicIp),
      metadata: { ...input.metadata },
      engine: { version: version.Version, apiVersion: version.ApiVersion },
    };
    return cached;
  };
}
