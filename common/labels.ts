/**
 * Every label BoatLoad puts on engine objects (containers, services, images, volumes, configs), in
 * one place: tests, the satellite, the scheduler's backends and the API read the same names.
 */
export const LABELS = {
  /** The installation (API instance) that created the object. */
  instance: 'boatload.instance',
  /** The unit a container or a Swarm service runs. */
  unit: 'boatload.unit',
  /** The BoatLoad container record a container belongs to, and its owner. */
  container: 'boatload.id',
  owner: 'boatload.owner',
  /** Snapshot images and volumes: their record ids; the container a snapshot was taken of. */
  snapshot: 'boatload.snapshot',
  volume: 'boatload.volume',
  sourceContainer: 'boatload.source-container',
  /** Swarm services: the engine name the unit asked for, and the image it runs. */
  engineName: 'boatload.engine-name',
  image: 'boatload.image',
  /** Containers: their network mode (none, private, internet; common/network-model.ts). */
  network: 'boatload.network',
  /** Containers: their hostname (set by the satellite, and their alias on their user's network). */
  hostname: 'boatload.hostname',
  /** Users' networks: the packet-filter chain prefix of the satellite that owns them, and their role (shared, egress). */
  firewall: 'boatload.firewall',
  networkRole: 'boatload.network-role',
  /** A warm pool member (its value: the pool's class); the label stays after a run takes it. */
  warmPool: 'boatload.warm-pool',
  /** A member of a pool dedicated to one tag (a function's warm capacity): the tag, read back by every replica. */
  warmTag: 'boatload.warm-tag',
} as const;

/** Image repository of snapshot images: `boatload/snapshot:<snapshot id>`. */
export const SNAPSHOT_REPOSITORY = 'boatload/snapshot';
/** Engine name of a volume: `boatload-vol-<volume id>`. */
export const volumeEngineName = (id: string): string => `boatload-vol-${id}`;
