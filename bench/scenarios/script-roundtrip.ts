/**
 * 2. Script round trip: post a script that prints a line, wait for its exit (polling `state`), read
 * `stdout`; against raw create + start + wait + logs of the same command. Removal is untimed.
 */
import { rawLogsText } from '../raw';
import { b64, log, timed } from '../util';
import { alternate, compareRow, type BenchContext, type Row, type Scenario } from './types';

const LINE = 'hello from the boatload bench';
const POLL_MS = 5;

export const scriptRoundTrip: Scenario = {
  id: 'script',
  number: 2,
  title: 'script round trip',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { bl, raw } = ctx;
    const script = b64(`#!/bin/sh\necho '${LINE}'\n`);
    const samples = await alternate({
      warmups: ctx.quick ? 1 : 2,
      iterations: ctx.iterations(15, 2),
      log: (m) => log(`script: ${m}`),
      boatload: async () => {
        let id = '';
        const { ms, value } = await timed(async () => {
          id = await bl.create({ script });
          await bl.waitExited(id, { pollMs: POLL_MS, timeoutMs: 30_000 });
          return (await bl.http.expect('GET', `/v1/container/${id}/stdout`, 200)).text();
        });
        await bl.remove(id);
        if (value !== `${LINE}\n`) throw new Error(`BoatLoad's stdout was ${JSON.stringify(value)}`);
        return ms;
      },
      raw: async () => {
        let container: Awaited<ReturnType<typeof raw.create>> | null = null;
        try {
          const { ms, value } = await timed(async () => {
            container = await raw.create(['/bin/sh', '-c', `echo '${LINE}'`]);
            await container.start();
            const exit = (await container.wait()) as { StatusCode: number };
            if (exit.StatusCode !== 0) throw new Error(`raw container exited ${exit.StatusCode}`);
            return rawLogsText(raw.docker, container.id);
          });
          if (value !== `${LINE}\n`) throw new Error(`the raw logs were ${JSON.stringify(value)}`);
          return ms;
        } finally {
          if (container) await raw.remove(container);
        }
      },
    });
    return [
      compareRow({
        scenario: '2 script round trip',
        name: 'script round trip (post, exit, stdout)',
        unit: 'ms',
        higherIsBetter: false,
        boatload: samples.boatload,
        raw: samples.raw,
        target: { on: 'ratio', op: '<=', value: 1.15 },
        reason: `BoatLoad: POST script, poll state every ${POLL_MS} ms until exited, GET stdout; raw: create (sh -c) + start + wait + logs`,
      }),
    ];
  },
};
