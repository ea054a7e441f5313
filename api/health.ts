/** GET /health: whether the store, the satellites and their engines answer. */
import type { Db } from './store/database';
import type { SatelliteDirectory } from './satellite/directory';
import type { UserService } from './users/service';

export interface HealthReport {
  status: 'ok' | 'unavailable';
  store: string;
  satellites: Record<string, string>;
  engine: string;
  warnings: string[];
}

export const DEFAULT_PASSWORD_WARNING = 'The admin account still has the default password "admin": change it (POST /v1/auth/password).';

export async function checkHealth(deps: { db: Db; satellites: SatelliteDirectory; users: UserService }): Promise<HealthReport> {
  const report: HealthReport = { status: 'ok', store: 'ok', satellites: {}, engine: 'ok', warnings: [] };
  try {
    // A write probe: a full disk or a read-only store still answers reads.
    deps.db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('health_probe', ?)").run(new Date().toISOString());
  } catch (err) {
    report.store = `unavailable: ${(err as Error).message}`;
    report.status = 'unavailable';
  }
  await Promise.all(
    deps.satellites.all().map(async (satellite) => {
      try {
        const health = await satellite.health();
        report.satellites[satellite.label] = 'ok';
        if (health.engine !== 'ok') {
          report.engine = `unavailable on ${satellite.label}: ${health.engine}`;
          report.status = 'unavailable';
        }
      } catch (err) {
        report.satellites[satellite.label] = `unavailable: ${(err as Error).message}`;
        report.engine = 'unknown (satellite unavailable)';
        report.status = 'unavailable';
      }
    }),
  );
  if (report.store === 'ok' && (await deps.users.usesDefaultAdminPassword())) report.warnings.push(DEFAULT_PASSWORD_WARNING);
  return report;
}
