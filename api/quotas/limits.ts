/**
 * Quotas: per-user limits on how many containers, volumes and snapshots a user may hold, and on
 * each container's writable layer and each volume's size. 0 means unlimited. The installation's
 * defaults come from BOATLOAD_QUOTA_* (api/config.ts); an admin may override any of them per user.
 */

export interface QuotaLimits {
  containers: number;
  volumes: number;
  snapshots: number;
  containerDiskBytes: number;
  volumeBytes: number;
}

export type QuotaKind = keyof QuotaLimits;

/** Per-user overrides: a missing or null entry means the installation's default. */
export type QuotaOverrides = { [K in QuotaKind]?: number | null };

export const QUOTA_KINDS: readonly QuotaKind[] = ['containers', 'volumes', 'snapshots', 'containerDiskBytes', 'volumeBytes'];

/** The API's field names (snake_case, as every BoatLoad answer). */
export const QUOTA_FIELDS: Record<QuotaKind, string> = {
  containers: 'containers',
  volumes: 'volumes',
  snapshots: 'snapshots',
  containerDiskBytes: 'container_disk_bytes',
  volumeBytes: 'volume_bytes',
};

/** The limits in force: each override, else the default. */
export function effectiveLimits(defaults: QuotaLimits, overrides: QuotaOverrides): QuotaLimits {
  const limits = { ...defaults };
  for (const kind of QUOTA_KINDS) {
    const value = overrides[kind];
    if (value !== undefined && value !== null) limits[kind] = value;
  }
  return limits;
}

/** Whether `count` objects already held leave no room for `more` under `limit` (0: unlimited). */
export function wouldExceed(limit: number, count: number, more = 1): boolean {
  return limit > 0 && count + more > limit;
}
