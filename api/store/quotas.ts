import { nowIso } from './database';
import type { SqlDatabase } from './sql';
import type { QuotaOverrides } from '../quotas/limits';

interface QuotaRow {
  containers: number | null;
  volumes: number | null;
  snapshots: number | null;
  container_disk_bytes: number | null;
  volume_bytes: number | null;
}

/** Per-user quota overrides; a user without a row has the installation's defaults. */
export class QuotaRepository {
  constructor(private readonly db: SqlDatabase) {}

  async find(username: string): Promise<QuotaOverrides> {
    const row = await this.db.get<QuotaRow>('SELECT containers, volumes, snapshots, container_disk_bytes, volume_bytes FROM user_quotas WHERE username = ?', [username]);
    if (!row) return {};
    return { containers: row.containers, volumes: row.volumes, snapshots: row.snapshots, containerDiskBytes: row.container_disk_bytes, volumeBytes: row.volume_bytes };
  }

  /** Replaces the user's overrides (null: the default). */
  async set(username: string, overrides: QuotaOverrides): Promise<void> {
    await this.db.run(
      `INSERT INTO user_quotas (username, containers, volumes, snapshots, container_disk_bytes, volume_bytes, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET containers = excluded.containers, volumes = excluded.volumes,
         snapshots = excluded.snapshots, container_disk_bytes = excluded.container_disk_bytes,
         volume_bytes = excluded.volume_bytes, updated = excluded.updated`,
      [username, overrides.containers ?? null, overrides.volumes ?? null, overrides.snapshots ?? null, overrides.containerDiskBytes ?? null, overrides.volumeBytes ?? null, nowIso()],
    );
  }

  async delete(username: string): Promise<void> {
    await this.db.run('DELETE FROM user_quotas WHERE username = ?', [username]);
  }
}
