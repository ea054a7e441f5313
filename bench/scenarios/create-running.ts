/**
 * 1. create → running of the default image: `POST /v1/container/` (no script, `sleep 3600` as the
 * container's arguments) and poll `state` until BoatLoad reports `running`, against raw create +
 * start of the same container. Removal is outside the timed window on both sides.
 *
 * Two comparisons, each alternated on its own: against the raw engine on its default bridge (what
 * `docker run` does), and against the raw engine doing the same network work BoatLoad's default mode
 * asks of it (an internal bridge plus an egress bridge, both existing already, as a user's networks
 * do while they have containers or a grace running): the first is the whole price a user pays, the
 * second BoatLoad's own overhead over the engine.
 */
import type Docker from 'dockerode';
import type { RawNetworks } from '../raw';
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
    const boatloadSide = async (): Promise<number> => {
      let id = '';
      const { ms } = await timed(async () => {
        id = await bl.create({ container_args: ARGS });
        await bl.waitFor(id, (s) => s.status === 'running', { pollMs: POLL_MS, timeoutMs: 30_000 });
      });
      await bl.remove(id);
      return ms;
    };
    const rawSide = async (create: () => Promise<Docker.Container>): Promise<number> => {
      let container: Docker.Container | null = null;
      try {
        const { ms } = await timed(async () => {
          container = await create();
          await container.start();
        });
        return ms;
      } finally {
        if (container) await raw.remove(container);
      }
    };
    const warmups = ctx.quick ? 1 : 2;
    const iterations = ctx.iterations(15, 2);
    const samples = await alternate({ warmups, iterations, log: (m) => log(`create: ${m}`), boatload: boatloadSide, raw: () => rawSide(() => raw.create(ARGS)) });
    let networks: RawNetworks | null = null;
    let sameWork: { boatload: number[]; raw: number[] };
    try {
      networks = await raw.createNetworks();
      const on = networks;
      sameWork = await alternate({ warmups, iterations, log: (m) => log(`create, raw on users'-network-shaped bridges: ${m}`), boatload: boatloadSide, raw: () => rawSide(() => raw.createOnNetworks(ARGS, on)) });
    } finally {
      if (networks) await raw.removeNetworks(networks);
    }
    return [
      compareRow({
        scenario: '1 create → running',
        name: 'create → running (default image)',
        unit: 'ms',
        higherIsBetter: false,
        boatload: samples.boatload,
        raw: samples.raw,
        target: { on: 'ratio', op: '<=', value: 1.1 },
        reason: `BoatLoad: POST then poll state every ${POLL_MS} ms until status=running; raw: create + start on the default bridge`,
      }),
      compareRow({
        scenario: '1 create → running',
        name: 'create → running, raw doing the same network work',
        unit: 'ms',
        higherIsBetter: false,
        boatload: sameWork.boatload,
        raw: sameWork.raw,
        target: { on: 'ratio', op: '<=', value: 1.1 },
        reason: 'raw: create on an internal bridge, join an egress bridge, start (the engine work of the default mode `internet`)',
      }),
    ];
  },
};
