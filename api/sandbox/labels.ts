/** Labels BoatLoad puts on the engine objects of the sandbox features. */
export const SANDBOX_LABELS = {
  snapshot: 'boatload.snapshot',
  volume: 'boatload.volume',
  source: 'boatload.source-container',
} as const;

/** Image repository of snapshot images: `boatload/snapshot:<snapshot id>`. */
export const SNAPSHOT_REPOSITORY = 'boatload/snapshot';
/** Engine name of a volume: `boatload-vol-<volume id>`. */
export const volumeEngineName = (id: string): string => `boatload-vol-${id}`;
