/**
 * What a submitted unit's container may take from its host. A unit's `docker run` is the root of
 * the host for anyone who can submit one if it may bind-mount any host path (`-v /:/host`, the
 * Docker socket) or join the host's network namespace (`--network host`), so both are refused
 * unless the administrator allows them (api/config.ts: BOATLOAD_UNIT_ALLOW_HOST_PATHS,
 * BOATLOAD_UNIT_ALLOW_HOST_NETWORK). A fixed host port (`-p 80:80`) could take a port a host
 * service needs (or the API's own): only the administrator's range is allowed (BOATLOAD_HOST_PORTS). The other ways into the host (`--privileged`, `--cap-add`,
 * `--device`, `--pid`/`--ipc`/`--uts`/`--userns`/`--cgroupns host`, `--security-opt`, `--mount`,
 * `--volumes-from`) are flags units/docker-run.ts does not accept at all: a 400 naming the flag.
 */
import { posix } from 'node:path';
import type { ContainerSpec } from '../common/container-spec';
import type { HostPortPolicy } from '../common/host-ports';
import { HOST_PORTS_VARIABLE } from '../common/host-ports';

export interface UnitPolicy {
  /**
   * Host paths a unit may bind-mount, with everything below them (normalized absolute paths;
   * `/srv/data` allows `/srv/data/x`, not `/srv/database`).
   */
  hostPaths: readonly string[];
  /** Whether a unit may use the host's network (`--network host`). */
  hostNetwork: boolean;
  /** Where a unit may publish a fixed host port (`-p 20001:80`); absent: nowhere. */
  hostPorts?: HostPortPolicy;
}

/** Nothing from the host: the default. */
export const STRICT_UNIT_POLICY: UnitPolicy = { hostPaths: [], hostNetwork: false };

export const HOST_PATHS_VARIABLE = 'BOATLOAD_UNIT_ALLOW_HOST_PATHS';
export const HOST_NETWORK_VARIABLE = 'BOATLOAD_UNIT_ALLOW_HOST_NETWORK';

/** `path` without `.`, `..`, repeated or trailing slashes (`/srv/data/../x/` → `/srv/x`). */
export function normalizeHostPath(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

/** Why `path` cannot be an allowed host path (an absolute path without ":" or NUL), or null. */
export function allowedHostPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return `"${path}" is not an absolute path`;
  if (path.includes(':') || path.includes('\0')) return `"${path}" cannot contain ":" or NUL`;
  return null;
}

/** Whether the host path `source` is one of `allowed` or below one, component by component. */
export function hostPathAllowed(source: string, allowed: readonly string[]): boolean {
  const path = normalizeHostPath(source);
  return allowed.some((root) => {
    const base = normalizeHostPath(root);
    return path === base || path.startsWith(base === '/' ? '/' : `${base}/`);
  });
}

/**
 * Why the policy refuses the container a unit describes, naming the `docker run` flag, or null.
 * (A named volume is not a host path: `-v data:/data` is always allowed.)
 */
export function unitPolicyProblem(spec: ContainerSpec, policy: UnitPolicy): string | null {
  for (const volume of spec.volumes) {
    if (!volume.source.startsWith('/') || hostPathAllowed(volume.source, policy.hostPaths)) continue;
    const allowed = policy.hostPaths.length > 0 ? `; allowed: ${policy.hostPaths.join(', ')}` : '';
    return (
      `-v ${volume.source}:${volume.target} bind-mounts the host path "${normalizeHostPath(volume.source)}": ` +
      `units may mount only the host paths the administrator allows (${HOST_PATHS_VARIABLE})${allowed}`
    );
  }
  for (const port of spec.ports) {
    if (port.hostPort === undefined || policy.hostPorts?.allows(port.hostPort)) continue;
    const allowed = policy.hostPorts && policy.hostPorts.ranges.length > 0 ? `; allowed: ${policy.hostPorts.describe()}` : '';
    return (
      `-p ${port.hostPort}:${port.containerPort} publishes the fixed host port ${port.hostPort}: ` +
      `units may do so only inside the administrator's range (${HOST_PORTS_VARIABLE})${allowed}; write -p ${port.containerPort} and the engine chooses one`
    );
  }
  if (spec.network === 'host' && !policy.hostNetwork) {
    return `--network host uses the host's network: units may do so only when the administrator allows it (${HOST_NETWORK_VARIABLE}=true)`;
  }
  return null;
}
