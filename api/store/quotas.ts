import type { Db } from './database';
import { nowIso } from './database';
import { StatementCache } from './statements';
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
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  find(username: string): QuotaOverrides {
    const row = this.statements.get('SELECT containers, volumes, snapshots, container_disk_bytes, volume_bytes FROM user_quotas WHERE username = ?').get(username) as QuotaRow | undefined;
    if (!row) return {};
    return { containers: row.containers, volumes: row.volumes, snapshots: row.snapshots, containerDiskBytes: row.container_disk_bytes, volumeBytes: row.volume_bytes };
  }

  /** Replaces the user's overrides (null: the default). */
  set(username: string, overrides: QuotaOverrides): void {
    this.statements
      .get(
        `INSERT INTO user_quotas (username, containers, volumes, snapshots, container_disk_bytes, volume_bytes, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET containers = excluded.containers, volumes = excluded.volumes,
           snapshots = excluded.snapshots, container_disk_bytes = excluded.container_disk_bytes,
           volume_bytes = excluded.volume_bytes, updated = excluded.updated`,
      )
      .run(username, overrides.containers ?? null, overrides.volumes ?? null, overrides.snapshots ?? null, overrides.containerDiskBytes ?? null, overrides.volumeBytes ?? null, nowIso());
  }

  delete(username: string): void {
    this.statements.get('DELETE FROM user_quotas WHERE username = ?').run(username);
  }
}
