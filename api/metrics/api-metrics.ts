/**
 * The API's metrics, in one prom-client Registry per API object graph (never the global default
 * registry: tests build several APIs in one process). Services report through small observer
 * interfaces (scheduler, satellite client, login throttle); gauges of containers and units are
 * read from the store at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HttpMetrics, LATENCY_BUCKETS } from '../../common/metrics/http-metrics';
import { UNIT_STATES, type UnitRecord } from '../../units/scheduler/model';
import type { SchedulerObserver } from '../../units/scheduler/scheduler';
import { containerStatusOf } from '../../units/scheduler/unit-status';
import type { LoginObserver } from '../auth/login';
import type { SatelliteCallObserver } from '../satellite/call-observer';

export interface ApiMetricsSources {
  /** Every unit (container units included), read at scrape time. */
  units: () => Promise<UnitRecord[]>;
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly http = new HttpMetrics(this.registry, 'boatload');
  private readonly loginFailures = new Counter({ name: 'boatload_login_failures_total', help: 'Logins refused for a wrong username or password.', registers: [this.registry] });
  private readonly loginThrottles = new Counter({ name: 'boatload_login_throttled_total', help: 'Logins refused with 429 because of too many recent failures.', registers: [this.registry] });
  private readonly satelliteUp = new Gauge({ name: 'boatload_satellite_up', help: 'Whether the satellite answered its last call (1) or could not be reached (0).', labelNames: ['satellite'], registers: [this.registry] });
  private readonly satelliteCalls = new Histogram({ name: 'boatload_satellite_call_duration_seconds', help: 'API → satellite calls (engine work on a host), by operation and outcome; streams until their headers.', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly streamBytesTotal = new Counter({ name: 'boatload_stream_bytes_total', help: 'Bytes of streamed answers (logs, files, archives, output) relayed from satellites to clients.', labelNames: ['kind'], registers: [this.registry] });
  private readonly convergence = new Histogram({ name: 'boatload_scheduler_convergence_seconds', help: "Time from a unit's desired-state change to the engine's observed state matching it, by target state and outcome.", labelNames: ['target', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry] });

  constructor(sources: ApiMetricsSources) {
    new Gauge({
      name: 'boatload_units',
      help: "Units by the scheduler's current state.",
      labelNames: ['state'],
      registers: [this.registry],
      // prom-client awaits an asynchronous collect before it renders the gauge.
      async collect() {
        const units = await sources.units();
        this.reset();
        for (const state of UNIT_STATES) this.set({ state }, 0);
        for (const unit of units) this.inc({ state: unit.currentState });
      },
    });
    new Gauge({
      name: 'boatload_containers',
      help: 'Containers by their status as listings show it (running, exited, error, ...).',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const units = await sources.units();
        this.reset();
        for (const unit of units) {
          if (unit.containerId !== null) this.inc({ state: containerStatusOf(unit) });
        }
      },
    });
  }

  readonly satelliteObserver: SatelliteCallObserver = {
    call: ({ satellite, operation, seconds, outcome }) => {
      this.satelliteUp.set({ satellite }, outcome === 'answered' ? 1 : 0);
      this.satelliteCalls.observe({ operation, outcome }, seconds);
    },
    streamBytes: (kind, bytes) => this.streamBytesTotal.inc({ kind }, bytes),
  };

  readonly loginObserver: LoginObserver = {
    failure: () => this.loginFailures.inc(),
    throttled: () => this.loginThrottles.inc(),
  };

  readonly schedulerObserver: SchedulerObserver = {
    converged: ({ target, seconds, ok }) => this.convergence.observe({ target, outcome: ok ? 'ok' : 'failed' }, seconds),
  };
}
