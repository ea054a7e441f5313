/**
 * 7. Unit API scale: PUT N units (fleet v1, desiredState inactive, 8 requests at a time), then page
 * through `GET /fleet/v1/units` and `GET /fleet/v1/state` following nextPageToken. Units/s for the
 * PUTs (per batch of 1,000), latency per page. There is no engine equivalent: absolute targets.
 * If the unit API is not mounted (a PUT answers 404), the scenario is reported as skipped.
 */
import { emptySpec } from '../../common/container-spec';
import { containerNameForUnit, renderContainerUnit } from '../../units/container-unit';
import { HttpError } from '../http';
import { log, mapLimit, timed } from '../util';
import { compareRow, skippedRow, type BenchContext, type Row, type Scenario, type Target } from './types';

const SCENARIO = '7 unit API scale';
const PUT_TARGET: Target = { on: 'boatload.median', op: '>=', value: 500 };
const PAGE_TARGET: Target = { on: 'boatload.p99', op: '<=', value: 20 };

function unitBody(name: string, image: string): { name: string; options: unknown[]; desiredState: string } {
  const spec = emptySpec(containerNameForUnit(name), image);
  spec.cmd = ['sleep', '3600'];
  return { name, options: renderContainerUnit({ spec, description: `bench unit ${name}` }), desiredState: 'inactive' };
}

export const unitApi: Scenario = {
  id: 'units',
  number: 7,
  title: 'unit API scale',
  async run(ctx: BenchContext): Promise<Row[]> {
    const http = ctx.bl.http;
    const n = ctx.quick ? 50 : 10_000;
    const batch = ctx.quick ? 25 : 1000;
    const names = Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(5, '0')}.service`);
    const put = async (name: string): Promise<void> => {
      await http.expect('PUT', `/fleet/v1/units/${encodeURIComponent(name)}?alt=json`, [201, 204], unitBody(name, ctx.image));
    };

    const probe = await http.request('PUT', `/fleet/v1/units/${encodeURIComponent(names[0])}?alt=json`, unitBody(names[0], ctx.image));
    if (probe.status === 404) {
      const reason = 'skipped: unit API not available (PUT /fleet/v1/units/<name> answered 404)';
      log(`units: ${reason}`);
      return [
        skippedRow(SCENARIO, `PUT ${n} units`, 'units/s', reason, PUT_TARGET, true),
        skippedRow(SCENARIO, 'GET /fleet/v1/units page', 'ms', reason, PAGE_TARGET, false),
        skippedRow(SCENARIO, 'GET /fleet/v1/state page', 'ms', reason, PAGE_TARGET, false),
      ];
    }
    if (probe.status !== 201 && probe.status !== 204) throw new HttpError('PUT', `/fleet/v1/units/${names[0]}`, probe.status, probe.text());

    log(`units: PUT ${n} units, 8 at a time`);
    const rates: number[] = [];
    // A budget keeps a slow unit API from stretching the whole bench: the PUTs stop after it and
    // the row says how many units were stored (the paging then runs over those).
    const budgetMs = ctx.quick ? 60_000 : 240_000;
    let stored = 0;
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const total = await timed(async () => {
      for (let start = 0; start < n; start += batch) {
        if (elapsed() > budgetMs) break;
        const slice = names.slice(start, start + batch);
        const { ms } = await timed(() => mapLimit(slice, 8, put));
        rates.push((slice.length / ms) * 1000);
        stored = start + slice.length;
        log(`units: ${stored} PUT, ${rates[rates.length - 1].toFixed(0)} units/s for the last ${slice.length}`);
      }
    });
    const stoppedEarly = stored < n;
    if (stoppedEarly) log(`units: stopped after ${stored} units: the ${budgetMs / 1000} s budget for the PUTs ran out`);
    log(`units: ${((stored / total.ms) * 1000).toFixed(0)} units/s overall`);

    const page = async (resource: 'units' | 'state'): Promise<{ latencies: number[]; items: number; ours: number; pages: number }> => {
      const latencies: number[] = [];
      let token: string | undefined;
      let items = 0;
      let ours = 0;
      let pages = 0;
      do {
        const path = `/fleet/v1/${resource}?alt=json${token ? `&nextPageToken=${encodeURIComponent(token)}` : ''}`;
        const { ms, value } = await timed(() => http.expect('GET', path, 200));
        latencies.push(ms);
        const body = value.json<{ units?: Array<{ name: string }>; states?: Array<{ name: string }>; nextPageToken?: string }>();
        const listed = (resource === 'units' ? body.units : body.states) ?? [];
        items += listed.length;
        ours += listed.filter((u) => u.name.startsWith('bench-')).length;
        pages++;
        token = body.nextPageToken;
        if (pages > n) throw new Error(`GET /fleet/v1/${resource} never stopped paging`);
      } while (token);
      return { latencies, items, ours, pages };
    };
    const passes = ctx.iterations(3, 1);
    const seen = { units: { latencies: [] as number[], items: 0, ours: 0, pages: 0 }, state: { latencies: [] as number[], items: 0, ours: 0, pages: 0 } };
    for (let pass = 0; pass < passes; pass++) {
      for (const resource of ['units', 'state'] as const) {
        const got = await page(resource);
        seen[resource].latencies.push(...got.latencies);
        seen[resource].items = got.items;
        seen[resource].ours = got.ours;
        seen[resource].pages = got.pages;
      }
    }
    // The unit API lists BoatLoad's container units too; the bench's own are named bench-*.
    if (seen.units.ours !== stored) throw new Error(`GET /fleet/v1/units listed ${seen.units.ours} bench units, expected ${stored}`);
    log(`units: paged ${seen.units.pages} unit pages and ${seen.state.pages} state pages (${seen.state.items} states) × ${passes}`);
    return [
      compareRow({
        scenario: SCENARIO,
        name: stoppedEarly ? `PUT ${stored}/${n} units (time budget hit)` : `PUT ${n} units (8 in flight)`,
        unit: 'units/s',
        higherIsBetter: true,
        boatload: rates,
        raw: null,
        target: PUT_TARGET,
        reason: `units/s per batch of ${batch}; no engine equivalent${stoppedEarly ? `; stopped after ${stored} units when the ${budgetMs / 1000} s budget ran out` : ''}`,
        extra: { overall_units_per_s: Math.round((stored / total.ms) * 1000), units_stored: stored, units_planned: n, stopped_early: stoppedEarly },
      }),
      compareRow({
        scenario: SCENARIO,
        name: `GET /fleet/v1/units page (${seen.units.pages} pages, ${seen.units.items} units)`,
        unit: 'ms',
        higherIsBetter: false,
        boatload: seen.units.latencies,
        raw: null,
        target: PAGE_TARGET,
        reason: `${passes} passes through all pages`,
        extra: { pages: seen.units.pages, units: seen.units.items, bench_units: seen.units.ours },
      }),
      compareRow({
        scenario: SCENARIO,
        name: `GET /fleet/v1/state page (${seen.state.pages} pages)`,
        unit: 'ms',
        higherIsBetter: false,
        boatload: seen.state.latencies,
        raw: null,
        target: PAGE_TARGET,
        reason: `${passes} passes; units are inactive, so states may be few`,
        extra: { pages: seen.state.pages, states: seen.state.items },
      }),
    ];
  },
};
