/** Each resource's health (GET /v1/<resource>/health): whether the parts it depends on answer. */
import type { Scheduler } from '../units/scheduler/scheduler';
import type { SatelliteDirectory } from './satellite/directory';
import type { SqlDatabase } from './store/sql';
import type { OperationService } from './operations/service';
import type { HealthReport } from './http/route-table';

export interface ResourceHealthDeps {
  db: SqlDatabase;
  satellites: SatelliteDirectory;
  scheduler: Scheduler;
  operations: OperationService;
}

type Check = () => Promise<string>;

export function resourceHealth(deps: ResourceHealthDeps): (concern: string) => Promise<HealthReport> {
  const store: Check = async () => {
    await deps.db.get('SELECT 1');
    return 'ok';
  };
  const engines = (): Record<string, Check> =>
    Object.fromEntries(
      deps.satellites.all().map((satellite) => [
        satellite.label,
        async () => {
          const health = await satellite.health();
          if (health.engine !== 'ok') throw new Error(`engine: ${health.engine}`);
          return 'ok (engine ok)';
        },
      ]),
    );
  const machines: Check = async () => `ok (${(await deps.scheduler.machines()).length} machine(s))`;
  const checksFor: Record<string, () => Record<string, Check>> = {
    container: () => ({ store, scheduler: machines, ...engines() }),
    volumes: () => ({ store, ...engines() }),
    snapshots: () => ({ store, ...engines() }),
    operations: () => ({
      store,
      operations: async () => {
        const counts = await deps.operations.counts();
        return `ok (${counts.pending ?? 0} pending, ${counts.running ?? 0} running)`;
      },
    }),
    units: () => ({ store, scheduler: machines, units: async () => `ok (${(await deps.scheduler.list()).length} unit(s))` }),
  };
  return async (concern) => {
    const report: HealthReport = { concern, status: 'ok', checks: {} };
    const checks = (checksFor[concern] ?? (() => ({ store })))();
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          report.checks[name] = await check();
        } catch (err) {
          report.checks[name] = `unavailable: ${(err as Error).message}`;
          report.status = 'unavailable';
        }
      }),
    );
    return report;
  };
}
