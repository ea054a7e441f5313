/**
 * 10. The store's price: the embedded SQLite file (the default) against PostgreSQL with one API and
 * with two API replicas (BOATLOAD_DATABASE_URL), so the cost of the choice is visible. A private
 * PostgreSQL server is started for the scenario (scripts/lib.sh); the PostgreSQL APIs are API-only
 * processes that share the bench's satellite, each set on a database of its own.
 *
 * Per round and set-up: N one-shot script containers (network `none`, so that no network step is
 * timed) created 8 at a time, spread round-robin over the replicas (acknowledged creates per second),
 * then GET /v1/container/ round-robin (latency of each). Every replica must list every container
 * just created (a stale replica fails the scenario), then they are deleted. Rounds alternate the
 * set-ups. In these rows the raw column is the SQLite store, not the engine: the ratio is
 * PostgreSQL's figure over SQLite's.
 */
import { projectRoot } from '../../common/project-root';
import { HttpClient } from '../http';
import { BoatLoadApi } from '../boatload';
import { BenchPostgres } from '../postgres';
import { BoatLoadSystem } from '../system';
import { median } from '../stats';
import { b64, log, mapLimit } from '../util';
import { compareRow, type BenchContext, type Row, type Scenario } from './types';

const SCENARIO = '10 store: SQLite vs PostgreSQL';
const SCRIPT = b64('#!/bin/sh\necho stored\n');
const CONCURRENCY = 8;
const NOTE = 'the raw column is the SQLite store here (not the engine): the ratio is PostgreSQL over SQLite';

interface Setup {
  label: string;
  /** One client per replica, all with the same token (issued by the first). */
  apis: HttpClient[];
  bls: BoatLoadApi[];
  /** The processes this scenario started (none for the bench's own SQLite system). */
  systems: BoatLoadSystem[];
  rates: number[];
  listMs: number[];
}

interface RoundFigures {
  rate: number;
  listMs: number[];
}

async function round(setup: Setup, creates: number, lists: number): Promise<RoundFigures> {
  const replicas = setup.bls.length;
  const started = performance.now();
  const ids = await mapLimit(Array.from({ length: creates }, (_, i) => i), CONCURRENCY, (i) => setup.bls[i % replicas].create({ script: SCRIPT, network: 'none' }));
  const rate = creates / ((performance.now() - started) / 1000);
  const listMs: number[] = [];
  let stale: Error | null = null;
  try {
    for (let i = 0; i < lists && !stale; i++) {
      const api = setup.apis[i % replicas];
      const t0 = performance.now();
      const listed = (await api.expect('GET', '/v1/container/', 200)).json<Array<{ id: string }>>();
      listMs.push(performance.now() - t0);
      const seen = new Set(listed.map((c) => c.id));
      const missing = i < replicas ? ids.filter((id) => !seen.has(id)) : [];
      if (missing.length > 0) stale = new Error(`${setup.label}: replica ${i + 1} does not list ${missing.length} of the ${creates} containers just created (a stale listing)`);
    }
  } finally {
    const results = await mapLimit(ids, CONCURRENCY, (id, i) => setup.bls[i % replicas].remove(id).then(() => null, (err: Error) => err));
    const failed = results.filter((e): e is Error => e !== null);
    stale ??= failed.length > 0 ? new Error(`${setup.label}: ${failed.length} deletes failed: ${failed[0].message}`) : null;
  }
  if (stale) throw stale;
  return { rate, listMs };
}

/** `replicas` API-only processes on one fresh database, sharing the bench's satellite. */
async function postgresSetup(ctx: BenchContext, pg: BenchPostgres, replicas: number, started: BoatLoadSystem[]): Promise<Setup> {
  const url = await pg.database(`bench_${replicas}_api${replicas > 1 ? 's' : ''}`);
  const systems: BoatLoadSystem[] = [];
  for (let i = 0; i < replicas; i++) {
    // One at a time: the first runs the migrations (the others would wait on its lock anyway).
    const system = await BoatLoadSystem.start({
      root: projectRoot(),
      satellite: false,
      secret: ctx.system.secret,
      cpuProfileDir: ctx.cpuProfileDir,
      apiEnv: { BOATLOAD_DATABASE_URL: url, SATELLITE_URL: `http://127.0.0.1:${ctx.system.satellitePort}` },
    });
    systems.push(system);
    started.push(system);
  }
  // A token issued by the first replica is used on every one (they share the store's secrets).
  const first = await systems[0].login();
  const apis = systems.map((system, i) => (i === 0 ? first : new HttpClient({ host: '127.0.0.1', port: system.apiPort }, first.headers)));
  return { label: `PostgreSQL, ${replicas} API${replicas > 1 ? 's' : ''}`, apis, bls: apis.map((api) => new BoatLoadApi(api, ctx.raw.docker)), systems, rates: [], listMs: [] };
}

export const store: Scenario = {
  id: 'store',
  number: 10,
  title: 'store: SQLite vs PostgreSQL, one and two API replicas',
  async run(ctx: BenchContext): Promise<Row[]> {
    const creates = ctx.quick ? 4 : 24;
    const lists = ctx.quick ? 4 : 60;
    const rounds = ctx.iterations(5, 1);
    const started: BoatLoadSystem[] = [];
    let pg: BenchPostgres | null = null;
    const setups: Setup[] = [];
    const cleanup = async (): Promise<void> => {
      for (const setup of setups) for (const bl of setup.bls) if (setup.systems.length > 0) await bl.removeFromEngine().catch(() => 0);
      for (const system of started) await system.stop().catch(() => undefined);
      await pg?.stop().catch(() => undefined);
    };
    const unregister = ctx.onInterrupt(cleanup);
    try {
      log('store: starting a private PostgreSQL');
      pg = await BenchPostgres.start(projectRoot());
      setups.push({ label: 'SQLite, 1 API', apis: [ctx.bl.http], bls: [ctx.bl], systems: [], rates: [], listMs: [] });
      setups.push(await postgresSetup(ctx, pg, 1, started));
      setups.push(await postgresSetup(ctx, pg, 2, started));
      for (const setup of setups) await round(setup, creates, Math.min(lists, 6)); // warm-up
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? setups : [...setups].reverse();
        for (const setup of order) {
          const figures = await round(setup, creates, lists);
          setup.rates.push(figures.rate);
          setup.listMs.push(...figures.listMs);
          log(`store: round ${r + 1} ${setup.label}: ${figures.rate.toFixed(1)} creates/s, list median ${median(figures.listMs).toFixed(1)} ms`);
        }
      }
    } finally {
      for (const setup of setups) if (setup.systems.length > 0) for (const api of setup.apis) api.close();
      await cleanup();
      unregister();
    }
    const [sqlite, ...postgres] = setups;
    const rows: Row[] = [];
    for (const setup of postgres) {
      rows.push(
        compareRow({ scenario: SCENARIO, name: `create throughput, ${setup.label} (raw: SQLite)`, unit: 'creates/s', higherIsBetter: true, boatload: setup.rates, raw: sqlite.rates, target: null, reason: NOTE, extra: { creates_per_round: creates, concurrency: CONCURRENCY } }),
        compareRow({ scenario: SCENARIO, name: `list latency, ${setup.label} (raw: SQLite)`, unit: 'ms', higherIsBetter: false, boatload: setup.listMs, raw: sqlite.listMs, target: null, reason: NOTE, extra: { containers_listed: creates } }),
      );
    }
    return rows;
  },
};
