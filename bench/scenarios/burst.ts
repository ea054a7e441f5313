/**
 * 3. Burst: N script containers posted at once, until every one has exited (BoatLoad: polling
 * `state` of the ones not yet done, 8 requests at a time, every 50 ms; raw: create + start + wait
 * each, all at once). Throughput in containers/s; every error is counted and must be zero.
 */
import { b64, log, mapLimit, settleLimit, sleep, timed } from '../util';
import { alternate, compareRow, type BenchContext, type Row, type Scenario } from './types';

const POLL_MS = 50;

export const burst: Scenario = {
  id: 'burst',
  number: 3,
  title: 'burst',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { bl, raw } = ctx;
    const n = ctx.quick ? 5 : 50;
    const script = b64('#!/bin/sh\necho burst\n');
    const errors = { boatload: [] as string[], raw: [] as string[] };

    const samples = await alternate({
      warmups: ctx.quick ? 0 : 1,
      iterations: ctx.iterations(3, 1),
      log: (m) => log(`burst: ${m} containers/s`),
      boatload: async (warmup) => {
        const ids: string[] = [];
        const failures: string[] = [];
        const { ms } = await timed(async () => {
          const posted = await Promise.allSettled(Array.from({ length: n }, () => bl.create({ script })));
          for (const p of posted) {
            if (p.status === 'fulfilled') ids.push(p.value);
            else failures.push(`POST: ${(p.reason as Error).message}`);
          }
          let pending = [...ids];
          const deadline = Date.now() + 180_000;
          while (pending.length) {
            if (Date.now() > deadline) {
              failures.push(`${pending.length} containers had not exited after 180 s`);
              break;
            }
            const states = await mapLimit(pending, 8, async (id) => {
              try {
                return { id, state: await bl.state(id) };
              } catch (err) {
                return { id, error: (err as Error).message };
              }
            });
            pending = [];
            for (const s of states) {
              if (s.error !== undefined) failures.push(`state ${s.id}: ${s.error}`);
              else if (!s.state) continue;
              else if (s.state.status === 'exited') {
                if (s.state.docker_state.ExitCode !== 0) failures.push(`${s.id} exited ${s.state.docker_state.ExitCode}`);
              } else if (['error', 'lost', 'stopped'].includes(s.state.status)) failures.push(`${s.id}: ${s.state.status} (${s.state.reason})`);
              else pending.push(s.id);
            }
            if (pending.length) await sleep(POLL_MS);
          }
        });
        const removeErrors = await bl.removeMany(ids);
        if (removeErrors.length) throw new Error(`deleting the burst failed: ${removeErrors[0].message}`);
        if (!warmup) errors.boatload.push(...failures);
        else if (failures.length) log(`burst: warm-up errors (BoatLoad): ${failures.slice(0, 3).join('; ')}`);
        return (n / ms) * 1000;
      },
      raw: async (warmup) => {
        const failures: string[] = [];
        const containers: Array<Awaited<ReturnType<typeof raw.create>>> = [];
        const { ms } = await timed(async () => {
          await Promise.all(
            Array.from({ length: n }, async () => {
              try {
                const container = await raw.create(['/bin/sh', '-c', 'echo burst']);
                containers.push(container);
                await container.start();
                const exit = (await container.wait()) as { StatusCode: number };
                if (exit.StatusCode !== 0) failures.push(`exit ${exit.StatusCode}`);
              } catch (err) {
                failures.push((err as Error).message);
              }
            }),
          );
        });
        await settleLimit(containers, 8, (c) => raw.remove(c));
        if (!warmup) errors.raw.push(...failures);
        return (n / ms) * 1000;
      },
    });
    return [
      compareRow({
        scenario: '3 burst',
        name: `burst of ${n} scripts until all exited`,
        unit: 'containers/s',
        higherIsBetter: true,
        boatload: samples.boatload,
        raw: samples.raw,
        target: { on: 'ratio', op: '>=', value: 0.9, conditions: { 'zero BoatLoad errors': errors.boatload.length === 0 } },
        reason: `BoatLoad: ${n} POSTs at once, then state of the unfinished ones (8 at a time, every ${POLL_MS} ms); raw: ${n} × (create + start + wait) at once`,
        extra: { errors: { boatload: errors.boatload.length, raw: errors.raw.length }, first_errors: { boatload: errors.boatload.slice(0, 5), raw: errors.raw.slice(0, 5) } },
      }),
    ];
  },
};
