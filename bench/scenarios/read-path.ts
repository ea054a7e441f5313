/**
 * 6. Read path with N containers in the store: `GET /v1/container/` and `GET .../state` under 32
 * concurrent clients (autocannon), against the engine's own list and `inspect` at the same
 * concurrency. BoatLoad's containers are scripts that exit at once (posted 8 at a time); the raw
 * side's are created, not started. Every response's latency is recorded, so the percentiles are
 * exact, not autocannon's histogram buckets.
 */
import autocannon from 'autocannon';
import { RAW_RUN_LABEL } from '../raw';
import { summarize } from '../stats';
import { b64, log, mapLimit, sleep } from '../util';
import { compareRow, type BenchContext, type Row, type Scenario } from './types';

const CONNECTIONS = 32;

interface LoadResult {
  rps: number;
  latencies: number[];
  errors: number;
  non2xx: number;
  /** Non-2xx answers by status code. */
  statuses: Record<string, number>;
  bytesPerResponse: number;
}

function load(input: { port?: number; socketPath?: string; paths: string[]; headers: Record<string, string>; seconds: number }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let next = 0;
    const latencies: number[] = [];
    let non2xx = 0;
    let bytes = 0;
    const statuses: Record<string, number> = {};
    const instance = autocannon(
      {
        url: input.socketPath ? 'http://localhost' : `http://127.0.0.1:${input.port}`,
        socketPath: input.socketPath,
        connections: CONNECTIONS,
        duration: input.seconds,
        headers: input.headers,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: input.paths[next++ % input.paths.length] }) }],
      },
      (err, result) => {
        if (err) return reject(err);
        resolve({
          rps: latencies.length / (result.duration || input.seconds),
          latencies,
          errors: result.errors + result.timeouts,
          non2xx,
          statuses,
          bytesPerResponse: latencies.length ? bytes / latencies.length : 0,
        });
      },
    );
    instance.on('response', (_client, status, resBytes, responseTime) => {
      if (status >= 200 && status < 300) {
        latencies.push(responseTime);
        bytes += resBytes;
      } else {
        non2xx++;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    });
  });
}

type Kind = 'bl-list' | 'raw-list' | 'bl-state' | 'raw-inspect';

export const readPath: Scenario = {
  id: 'read',
  number: 6,
  title: 'read path',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { bl, raw } = ctx;
    const n = ctx.quick ? 20 : 1000;
    const blIds: string[] = [];
    const rawIds: string[] = [];
    try {
      log(`read: creating ${n} BoatLoad containers (8 at a time) and ${n} raw ones`);
      const script = b64('#!/bin/sh\nexit 0\n');
      // Setup, not measured: a failed POST is retried (twice at most) and counted in the results.
      const setupErrors: string[] = [];
      const createRetrying = async (): Promise<string> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await bl.create({ script });
          } catch (err) {
            setupErrors.push((err as Error).message.slice(0, 200));
            if (attempt === 3) throw err;
          }
        }
      };
      await Promise.all([
        mapLimit(Array.from({ length: n }), 8, async () => blIds.push(await createRetrying())),
        mapLimit(Array.from({ length: n }), 8, async () => rawIds.push((await raw.create(['/bin/true'])).id)),
      ]);
      if (setupErrors.length) log(`read: ${setupErrors.length} POSTs failed during setup and were retried, e.g. ${setupErrors[0]}`);
      // Wait for the background starts to finish, so that they do not load the machine meanwhile.
      const deadline = Date.now() + 900_000;
      for (;;) {
        const listed = await bl.list();
        const busy = listed.filter((c) => ['creating', 'starting', 'running'].includes(c.status)).length;
        const failed = listed.filter((c) => c.status === 'error' || (c.status === 'exited' && c.exit_code !== 0));
        if (failed.length) throw new Error(`${failed.length} of the read-path containers failed, e.g. ${JSON.stringify(failed[0])}`);
        if (!busy && listed.length >= n) break;
        if (Date.now() > deadline) throw new Error(`${busy} containers still not exited after 900 s`);
        await sleep(1000);
      }
      log(`read: ${n} + ${n} containers ready; loading with ${CONNECTIONS} connections`);

      const filters = encodeURIComponent(JSON.stringify({ label: [`${RAW_RUN_LABEL}=${raw.runId}`] }));
      const targets: Record<Kind, { port?: number; socketPath?: string; paths: string[]; headers: Record<string, string> }> = {
        'bl-list': { port: ctx.system.apiPort, paths: ['/v1/container/'], headers: { authorization: ctx.authorization } },
        'raw-list': { socketPath: raw.socketPath, paths: [raw.apiPath(`/containers/json?all=1&filters=${filters}`)], headers: {} },
        'bl-state': { port: ctx.system.apiPort, paths: blIds.map((id) => `/v1/container/${id}/state`), headers: { authorization: ctx.authorization } },
        'raw-inspect': { socketPath: raw.socketPath, paths: rawIds.map((id) => raw.apiPath(`/containers/${id}/json`)), headers: {} },
      };
      const seconds = ctx.quick ? 1 : 5;
      const rounds = ctx.iterations(3, 1);
      if (!ctx.quick) {
        for (const kind of Object.keys(targets) as Kind[]) await load({ ...targets[kind], seconds: 1 });
      }
      const results: Record<Kind, LoadResult[]> = { 'bl-list': [], 'raw-list': [], 'bl-state': [], 'raw-inspect': [] };
      for (let round = 0; round < rounds; round++) {
        const order: Kind[] = round % 2 === 0 ? ['bl-list', 'raw-list', 'bl-state', 'raw-inspect'] : ['raw-inspect', 'bl-state', 'raw-list', 'bl-list'];
        for (const kind of order) {
          const result = await load({ ...targets[kind], seconds });
          results[kind].push(result);
          log(`read: round ${round + 1} ${kind}: ${result.rps.toFixed(0)} req/s, p99 ${summarize(result.latencies).p99.toFixed(1)} ms${result.errors || result.non2xx ? `, ${result.errors} errors, non-2xx ${JSON.stringify(result.statuses)}` : ''}`);
        }
      }
      const all = (kind: Kind): number[] => results[kind].flatMap((r) => r.latencies);
      const rps = (kind: Kind): number[] => results[kind].map((r) => r.rps);
      const failures = (kind: Kind): number => results[kind].reduce((sum, r) => sum + r.errors + r.non2xx, 0);
      const info = (kind: Kind): Record<string, unknown> => ({
        rps_median: Math.round(summarize(rps(kind)).median),
        p99_ms: round(summarize(all(kind)).p99),
        failures: failures(kind),
        non_2xx: results[kind].reduce<Record<string, number>>((acc, r) => {
          for (const [code, count] of Object.entries(r.statuses)) acc[code] = (acc[code] ?? 0) + count;
          return acc;
        }, {}),
        bytes_per_response: Math.round(results[kind][0]?.bytesPerResponse ?? 0),
      });
      return [
        compareRow({
          scenario: '6 read path',
          name: `GET /v1/container/ (${n} containers) latency`,
          unit: 'ms',
          higherIsBetter: false,
          boatload: all('bl-list'),
          raw: all('raw-list'),
          target: { on: 'boatload.p99', op: '<=', value: 25, conditions: { 'no failed requests': failures('bl-list') === 0 } },
          reason: `${CONNECTIONS} connections, ${rounds} × ${seconds} s; raw = engine GET /containers/json?all=1 with a label filter (reference only); target is BoatLoad's p99`,
          extra: { boatload: info('bl-list'), raw: info('raw-list'), setup_post_errors: setupErrors.length, first_setup_errors: setupErrors.slice(0, 3) },
        }),
        compareRow({
          scenario: '6 read path',
          name: `GET .../state vs engine inspect`,
          unit: 'req/s',
          higherIsBetter: true,
          boatload: rps('bl-state'),
          raw: rps('raw-inspect'),
          target: { on: 'ratio', op: '>=', value: 0.7, conditions: { 'no failed requests': failures('bl-state') === 0 } },
          reason: `${CONNECTIONS} connections, ${rounds} × ${seconds} s, rotating over the ${n} containers on each side`,
          extra: { boatload: info('bl-state'), raw: info('raw-inspect') },
        }),
      ];
    } finally {
      log(`read: removing ${blIds.length} + ${rawIds.length} containers`);
      const errors = await bl.removeMany(blIds, 8);
      await mapLimit(rawIds, 8, (id) => raw.remove(id).catch(() => undefined));
      if (errors.length) log(`read: ${errors.length} deletes failed, e.g. ${errors[0].message}`);
    }
  },
};

const round = (value: number): number => Math.round(value * 100) / 100;
