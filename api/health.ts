/**
 * GET /health. Anonymous callers learn only ok or not ok (`{"status": "ok"}` 200 or
 * `{"status": "unavailable"}` 503): the store answers a read, every satellite and its engine
 * answer. Nothing is written, and concurrent anonymous checks share one. Admins get the detailed
 * report: the store's write probe, each satellite by URL, error texts and warnings.
 */
import type { SqlDatabase } from './store/sql';
import type { SatelliteDirectory } from './satellite/directory';
import type { UserService } from './users/service';

export type HealthStatus = 'ok' | 'unavailable';

export interface HealthReport {
  status: HealthStatus;
  store: string;
  satellites: Record<string, string>;
  engine: string;
  warnings: string[];
}

export const DEFAULT_PASSWORD_WARNING = 'The admin account still has the default password "admin": change it (POST /v1/auth/password).';

export interface HealthDeps {
  db: SqlDatabase;
  satellites: SatelliteDirectory;
  users: UserService;
}

/** Each satellite's answer and the engines' state, into the report. */
async function checkSatellites(satellites: SatelliteDirectory, report: HealthReport): Promise<void> {
  await Promise.all(
    satellites.all().map(async (satellite) => {
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
}

/** The detailed report, for admins. */
export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const report: HealthReport = { status: 'ok', store: 'ok', satellites: {}, engine: 'ok', warnings: [] };
  try {
    // A write probe: a full disk or a read-only store still answers reads.
    await deps.db.run("INSERT INTO settings (key, value) VALUES ('health_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [new Date().toISOString()]);
  } catch (err) {
    report.store = `unavailable: ${(err as Error).message}`;
    report.status = 'unavailable';
  }
  await checkSatellites(deps.satellites, report);
  if (report.store === 'ok' && (await deps.users.usesDefaultAdminPassword())) report.warnings.push(DEFAULT_PASSWORD_WARNING);
  return report;
}

/** Ok or not ok, for anyone: writes nothing; checks running at once share one answer. */
export class PublicHealth {
  private running: Promise<HealthStatus> | null = null;

  constructor(private readonly deps: Pick<HealthDeps, 'db' | 'satellites'>) {}

  status(): Promise<HealthStatus> {
    if (!this.running) {
      this.running = this.check().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async check(): Promise<HealthStatus> {
    const report: HealthReport = { status: 'ok', store: 'ok', satellites: {}, engine: 'ok', warnings: [] };
    try {
      await this.deps.db.get('SELECT 1 FROM settings LIMIT 1');
    } catch {
      report.status = 'unavailable';
    }
    await checkSatellites(this.deps.satellites, report);
    return report.status;
  }
}
