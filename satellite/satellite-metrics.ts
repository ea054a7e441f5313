/**
 * The satellite's own metrics, in a Registry of its own (never prom-client's global default: tests
 * run several satellites in one process): HTTP requests, engine call latency, streamed bytes.
 */
import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry } from 'prom-client';
import { HttpMetrics, LATENCY_BUCKETS } from '../common/metrics/http-metrics';

export class SatelliteMetrics {
  readonly registry = new Registry();
  readonly http = new HttpMetrics(this.registry, 'boatload_satellite');
  private readonly engineCalls = new Histogram({ name: 'boatload_satellite_engine_call_duration_seconds', help: 'Calls of the engine wrappers (HostEngine, ContainerSessions, EngineObjects, DiskUsage) by operation and outcome; streams until they open.', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly streamBytesTotal = new Counter({ name: 'boatload_satellite_stream_bytes_total', help: 'Bytes of streamed answers (logs, files, archives, output), by kind.', labelNames: ['kind'], registers: [this.registry] });

  /**
   * An engine wrapper with its public async methods timed: a Proxy, so the wrappers themselves stay
   * free of metrics. Operation labels are method names (a bounded set), after `prefix.` when given
   * (HostEngine's have none; ContainerSessions' are `sessions.exec`, ...). `untimed` methods (a
   * terminal session that lasts as long as the user types) pass through unobserved.
   */
  timed<T extends object>(engine: T, options: { prefix?: string; untimed?: ReadonlyArray<keyof T & string> } = {}): T {
    const histogram = this.engineCalls;
    const untimed = new Set<string>(options.untimed ?? []);
    return new Proxy(engine, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function' || typeof property !== 'string' || untimed.has(property)) return value;
        const operation = options.prefix ? `${options.prefix}.${property}` : property;
        return (...args: unknown[]): unknown => {
          const started = performance.now();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            const observe = (outcome: string) => (): void => histogram.observe({ operation, outcome }, (performance.now() - started) / 1000);
            result.then(observe('ok'), observe('error'));
          }
          return result;
        };
      },
    });
  }

  /** Route middleware: counts the bytes the response writes under `kind`. */
  streamBytes(kind: string): RequestHandler {
    const counter = this.streamBytesTotal;
    return (_req, res, next) => {
      const count = (chunk: unknown, encoding?: unknown): void => {
        if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
        const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array).byteLength;
        if (bytes) counter.inc({ kind }, bytes);
      };
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.write = ((...args: unknown[]) => (count(args[0], args[1]), write(...args))) as typeof res.write;
      res.end = ((...args: unknown[]) => (count(args[0], args[1]), end(...args))) as typeof res.end;
      next();
    };
  }
}
