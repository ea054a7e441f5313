/**
 * Shared by the archive and stdout scenarios: one BoatLoad container produces the data, then the
 * same engine container is read through BoatLoad and straight from the engine, alternately, while
 * the resident memory of the API and the satellite is watched during the BoatLoad reads.
 */
import { readFileSync } from 'node:fs';
import { engineNameOf } from '../boatload';
import type { Drained } from '../http';
import { cpuDuring } from '../proc';
import { RssWatch, type RssWindow } from '../rss';
import { b64, log, MiB } from '../util';
import { alternate, compareRow, type BenchContext, type Row } from './types';

export const RSS_LIMIT_MIB = 64;

export interface StreamScenarioInput {
  scenario: string;
  name: string;
  label: string;
  script: string;
  minRatio: number;
  /** Reads through BoatLoad (timed); answers the bytes delivered. */
  boatload: (id: string, verify: boolean) => Promise<Drained>;
  /** Reads from the engine (timed); answers the bytes delivered. */
  raw: (engineName: string, verify: boolean) => Promise<Drained>;
  expectedBytes: number;
  iterations: number;
  note: string;
}

export async function runStreamScenario(ctx: BenchContext, input: StreamScenarioInput): Promise<Row[]> {
  const { bl } = ctx;
  log(`${input.label}: producing the data in a BoatLoad container`);
  const id = await bl.create({ script: b64(input.script) });
  try {
    await bl.waitExited(id, { pollMs: 250, timeoutMs: 300_000 });
    const watch = new RssWatch({ api: ctx.system.apiPid, satellite: ctx.system.satellitePid });
    const bytes = { boatload: 0, raw: 0 };
    const chunkBytes = { boatload: 0, raw: 0 };
    // CPU of BoatLoad's processes and of dockerd during the measured reads, per MiB delivered.
    const engine = enginePid();
    const blPids: Record<string, number> = { api: ctx.system.apiPid, satellite: ctx.system.satellitePid, ...(engine ? { engine } : {}) };
    const rawPids: Record<string, number> = engine ? { engine } : {};
    const cpu = { boatload: {} as Record<string, number>, raw: {} as Record<string, number>, mib: { boatload: 0, raw: 0 } };
    const addCpu = (side: 'boatload' | 'raw', used: Record<string, number>, delivered: number): void => {
      for (const [name, ms] of Object.entries(used)) cpu[side][name] = (cpu[side][name] ?? 0) + ms;
      cpu.mib[side] += delivered / MiB;
    };
    const mibPerS = (d: Drained): number => d.bytes / MiB / (d.ms / 1000);
    let rss: Record<string, RssWindow>;
    let samples: { boatload: number[]; raw: number[] };
    try {
      samples = await alternate({
        warmups: 1,
        iterations: input.iterations,
        log: (m) => log(`${input.label}: ${m} MiB/s`),
        boatload: async (warmup) => {
          watch.resume();
          try {
            const { value: drained, cpu: used } = await cpuDuring(blPids, () => input.boatload(id, warmup));
            if (!warmup) addCpu('boatload', used, drained.bytes);
            if (drained.bytes < input.expectedBytes) throw new Error(`BoatLoad delivered ${drained.bytes} bytes, expected at least ${input.expectedBytes}`);
            bytes.boatload = drained.bytes;
            if (drained.chunks) chunkBytes.boatload = Math.round(drained.bytes / drained.chunks);
            return mibPerS(drained);
          } finally {
            watch.pause();
          }
        },
        raw: async (warmup) => {
          const { value: drained, cpu: used } = await cpuDuring(rawPids, () => input.raw(engineNameOf(id), warmup));
          if (!warmup) addCpu('raw', used, drained.bytes);
          if (drained.bytes < input.expectedBytes) throw new Error(`the engine delivered ${drained.bytes} bytes, expected at least ${input.expectedBytes}`);
          bytes.raw = drained.bytes;
          if (drained.chunks) chunkBytes.raw = Math.round(drained.bytes / drained.chunks);
          return mibPerS(drained);
        },
      });
    } finally {
      rss = watch.stop();
    }
    const perMib = perMiB(cpu.boatload, cpu.mib.boatload, cpu.raw, cpu.mib.raw);
    log(`${input.label}: CPU ms per MiB: BoatLoad ${JSON.stringify(perMib.boatload)}, raw ${JSON.stringify(perMib.raw)}; average chunk at the client ${JSON.stringify(chunkBytes)} bytes`);
    const rows: Row[] = [
      compareRow({
        scenario: input.scenario,
        name: input.name,
        unit: 'MiB/s',
        higherIsBetter: true,
        boatload: samples.boatload,
        raw: samples.raw,
        target: { on: 'ratio', op: '>=', value: input.minRatio },
        reason: input.note,
        extra: { bytes, average_chunk_bytes: chunkBytes, cpu_ms_per_mib: perMib },
      }),
    ];
    for (const name of ['api', 'satellite'] as const) {
      const window = rss[name];
      rows.push(
        compareRow({
          scenario: input.scenario,
          name: `${input.label}: ${name} peak RSS growth`,
          unit: 'MiB',
          higherIsBetter: false,
          boatload: [window.growthMiB],
          raw: null,
          target: { on: 'boatload.max', op: '<', value: RSS_LIMIT_MIB },
          reason: `peak over all BoatLoad reads (VmRSS every 20 ms and VmHWM) minus RSS before the first read`,
          extra: { baseline_mib: round(window.baselineMiB), peak_mib: round(window.peakMiB) },
        }),
      );
    }
    return rows;
  } finally {
    await bl.remove(id);
  }
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** dockerd's pid, to count the engine's CPU too (null when it cannot be read). */
function enginePid(): number | null {
  try {
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function perMiB(bl: Record<string, number>, blMiB: number, raw: Record<string, number>, rawMiB: number): Record<string, Record<string, number>> {
  const scale = (used: Record<string, number>, mib: number): Record<string, number> =>
    Object.fromEntries(Object.entries(used).map(([name, ms]) => [name, mib ? Math.round((ms / mib) * 100) / 100 : 0]));
  return { boatload: scale(bl, blMiB), raw: scale(raw, rawMiB) };
}
