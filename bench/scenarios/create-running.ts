/**
 * 1. create → running of the default image: `POST /v1/container/` (no script, `sleep 3600` as the
 * container's arguments) and poll `state` until BoatLoad reports `running`, against raw create +
 * start of the same container. Removal is outside the timed window on both sides.
 */
import { log, timed } from '../util';
import { alternate, compareRow, type BenchContext, type Row, type Scenario } from './types';

const ARGS = ['sleep', '3600'];
const POLL_MS = 5;

export const createRunning: Scenario = {
  id: 'create',
  number: 1,
  title: 'create → running',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { bl, raw } = ctx;
    const samples = await alternate({
      warmups: ctx.quick ? 1 : 2,
      iterations: ctx.iterations(15, 2),
      log: (m) => log(`create: ${m}`),
      boatload: async () => {
        let id = '';
        const { ms } = await timed(async () => {
          id = await bl.create({ container_args: ARGS });
          await bl.waitFor(id, (s) => s.status === 'running', { pollMs: POLL_MS, timeoutMs: 30_000 });
        });
        await bl.remove(id);
        return ms;
      },
      raw: async () => {
        let container: Awaited<ReturnType<typeof raw.create>> | null = null;
        try {
          const { ms } = await timed(async () => {
            container = await raw.create(ARGS);
            await container.start();
          });
          return ms;
        } finally {
          if (container) await raw.remove(container);
        }
      },
    });
    return [
      compareRow({
        scenario: '1 create → running',
        name: 'create → running (default image)',
        unit: 'ms',
        higherIsBetter: false,
        boatload: samples.boatload,
        raw: samples.raw,
        target: { on: 'ratio', op: '<=', value: 1.1 },
        reason: `BoatLoad: POST then poll state every ${POLL_MS} ms until status=running; raw: create + start`,
      }),
    ];
  },
};
