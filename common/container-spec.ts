/**
 * The structured description of one container: what a unit's ExecStart means, what the
 * API asks a satellite to create, and what the Swarm backend turns into a service.
 * Units are rendered from this and parsed back into it; user text never becomes a unit
 * line without going through this shape.
 */

export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** Omitted: the engine picks a free host port. */
  hostPort?: number;
  hostIp?: string;
}

export interface VolumeMount {
  /** A named volume, or an absolute host path for a bind mount. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readonly: boolean;
}

export interface ContainerSpec {
  /** The engine's container name. */
  name: string;
  /** Full image reference, e.g. `boatload/base:latest`. */
  image: string;
  /** Arguments after the image; undefined means the image's own command. */
  cmd?: string[];
  /** Overrides the image's entrypoint; [] clears it. */
  entrypoint?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  workdir?: string;
  restart: RestartPolicy;
  /** Remove the container when it exits (`docker run --rm`). */
  autoRemove: boolean;
  memoryBytes?: number;
  /** CPU quota in units of 1e-9 CPUs, as the engine's NanoCpus. */
  nanoCpus?: number;
  pidsLimit?: number;
  /** `bridge` (default), `none`, `host` or a user-defined network name. */
  network?: string;
  ports: PortMapping[];
  volumes: VolumeMount[];
  /** Extra `/etc/hosts` lines (`--add-host name:ip`), e.g. a link's alias. */
  extraHosts?: ExtraHost[];
}

export interface ExtraHost {
  name: string;
  ip: string;
}

/** A spec with every optional list/map empty: a base for builders and parsers. */
export function emptySpec(name: string, image: string): ContainerSpec {
  return { name, image, env: {}, labels: {}, restart: 'no', autoRemove: false, ports: [], volumes: [] };
}
