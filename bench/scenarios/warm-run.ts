/**
 * 9. Warm script run: a BoatLoad of its own with a warm pool (BOATLOAD_WARM_POOL) against the raw
 * engine. Time to the first output byte and to the exit of a short script: BoatLoad POSTs the
 * script and follows `stdout` (the follow ends when the container exits); the raw side creates,
 * attaches, starts and reads the attach stream to its end (the same output). Before each BoatLoad
 * iteration (untimed) the pool is full again: this measures warm capacity, not a burst past it.
 * The same for an `internet` run (the default mode): its member waits on the holding network and
 * joins the owner's networks at the take; the raw side is `docker run` on the default bridge, and a
 * cold BoatLoad `internet` run (limits no pool has) is measured against the same raw side too.
 * Then the pool's cost: idle memory and CPU of its members, from the engine's stats.
 */
import type Docker from 'dockerode';
import { projectRoot } from '../../common/project-root';
import { BoatLoadApi } from '../boatload';
import { BoatLoadSystem } from '../system';
import { b64, log, mapLimit, sleep, MiB } from '../util';
import { alternate, compareRow, type BenchContext, type Row, type Scenario } from './types';

const LINE = 'hello from a warm container';
const POOL_SIZE = 4;
const POOL_LABEL = 'boatload.warm-pool';
const IDLE_SAMPLE_MS = 5000;
/** The burst's function keeps this many members of its own. */
const BURST_WARM = 8;

interface Timing {
  firstByteMs: number;
  exitMs: number;
  text: string;
}

/** Reads a response to its end, noting when the first body byte arrived (ms since `started`). */
function readTimed(res: NodeJS.ReadableStream, started: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    let firstByteMs = -1;
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => {
      if (firstByteMs < 0) firstByteMs = performance.now() - started;
      chunks.push(chunk);
    });
    res.on('end', () => resolve({ firstByteMs, exitMs: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

async function idleMembers(docker: Docker, instanceId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ filters: { label: [`boatload.instance=${instanceId}`, POOL_LABEL], status: ['running'] } });
}

/** Both classes (none, and private/internet) keep POOL_SIZE members each. */
async function waitForFullPool(docker: Docker, instanceId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await idleMembers(docker, instanceId)).length < 2 * POOL_SIZE) {
    if (Date.now() > deadline) throw new Error(`the warm pool did not fill to ${2 * POOL_SIZE} within 60 s`);
    await sleep(50);
  }
}

/** Memory (as `docker stats` counts it) and CPU ms per second of each idle member over a few seconds. */
async function idleCost(docker: Docker, members: Docker.ContainerInfo[]): Promise<{ memoryMiB: number[]; cpuMsPerS: number[] }> {
  type Stats = { cpu_stats: { cpu_usage: { total_usage: number } }; memory_stats: { usage?: number; stats?: { total_inactive_file?: number } } };
  const sample = (id: string): Promise<Stats> => docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false });
  const first = await Promise.all(members.map((m) => sample(m.Id)));
  const t0 = performance.now();
  await sleep(IDLE_SAMPLE_MS);
  const second = await Promise.all(members.map((m) => sample(m.Id)));
  const seconds = (performance.now() - t0) / 1000;
  return {
    memoryMiB: second.map((s) => ((s.memory_stats.usage ?? 0) - (s.memory_stats.stats?.total_inactive_file ?? 0)) / MiB),
    cpuMsPerS: second.map((s, i) => (s.cpu_stats.cpu_usage.total_usage - first[i].cpu_stats.cpu_usage.total_usage) / 1e6 / seconds),
  };
}

export const warmRun: Scenario = {
  id: 'warm',
  number: 9,
  title: 'warm script run',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { raw } = ctx;
    // Both sides without a network: members cannot be on their owner's network ahead of time.
    const rawNoNetwork = (cmd: string[]): Promise<Docker.Container> => {
      const options = raw.createOptions(cmd);
      return raw.docker.createContainer({ ...options, HostConfig: { ...options.HostConfig, NetworkMode: 'none' } });
    };
    /** The raw engine's side of a run: create (timed from before it), attach, start, read to the end. */
    const rawRun = async (make: () => Promise<Docker.Container>, options: { wait?: boolean } = {}): Promise<Timing> => {
      const started = performance.now();
      const container = await make();
      try {
        const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
        const reading = readTimed(stream, started);
        await container.start();
        if (options.wait) await container.wait();
        const timing = await reading;
        if (!timing.text.includes(LINE)) throw new Error(`the raw attach stream was ${JSON.stringify(timing.text)}`);
        return timing;
      } finally {
        await raw.remove(container);
      }
    };
    const system = await BoatLoadSystem.start({ root: projectRoot(), apiPort: 18020, satellitePort: 18021, cpuProfileDir: ctx.cpuProfileDir, apiEnv: { BOATLOAD_WARM_POOL: `${ctx.image};network=none=${POOL_SIZE},${ctx.image}=${POOL_SIZE}` } });
    const unregister = ctx.onInterrupt(() => system.stop());
    const http = await system.login();
    const bl = new BoatLoadApi(http, raw.docker);
    try {
      const script = b64(`#!/bin/sh\necho '${LINE}'\n`);
      // The first create tells the bench the installation's instance id (for the pool's label).
      await bl.remove(await bl.create({ script, network: 'none' }));
      const instanceId = bl.instanceId as string;
      const timings = { boatload: [] as Timing[], raw: [] as Timing[] };
      await alternate({
        warmups: ctx.quick ? 1 : 2,
        iterations: ctx.iterations(20, 2),
        log: (m) => log(`warm: ${m}`),
        boatload: async (warmup) => {
          await waitForFullPool(raw.docker, instanceId);
          const started = performance.now();
          const id = await bl.create({ script, network: 'none' });
          const res = await http.stream(`/v1/container/${id}/stdout?follow=true`);
          const timing = await readTimed(res, started);
          await bl.remove(id);
          if (timing.text !== `${LINE}\n`) throw new Error(`BoatLoad's stdout was ${JSON.stringify(timing.text)}`);
          if (!warmup) timings.boatload.push(timing);
          return timing.exitMs;
        },
        raw: async (warmup) => {
          const timing = await rawRun(() => rawNoNetwork(['/bin/sh', '-c', `echo '${LINE}'`]));
          if (!warmup) timings.raw.push(timing);
          return timing.exitMs;
        },
      });
      // An internet run: warm (pool full before each), then cold (another pids limit: no class fits),
      // each against create + attach + start on the engine's default bridge.
      const internet = (warm: boolean) => {
        const side = { boatload: [] as Timing[], raw: [] as Timing[] };
        return alternate({
          warmups: ctx.quick ? 1 : 2,
          iterations: ctx.iterations(20, 2),
          log: (m) => log(`warm: internet ${warm ? 'warm' : 'cold'}: ${m}`),
          boatload: async (warmup) => {
            if (warm) await waitForFullPool(raw.docker, instanceId);
            const started = performance.now();
            const id = await bl.create(warm ? { script, network: 'internet' } : { script, network: 'internet', pids: 100 });
            const timing = await readTimed(await http.stream(`/v1/container/${id}/stdout?follow=true`), started);
            await bl.remove(id);
            if (timing.text !== `${LINE}\n`) throw new Error(`BoatLoad's stdout was ${JSON.stringify(timing.text)}`);
            if (!warmup) side.boatload.push(timing);
            return timing.exitMs;
          },
          raw: async (warmup) => {
            const timing = await rawRun(() => raw.create(['/bin/sh', '-c', `echo '${LINE}'`]));
            if (!warmup) side.raw.push(timing);
            return timing.exitMs;
          },
        }).then(() => side);
      };
      const internetWarm = await internet(true);
      const internetCold = await internet(false);
      // Function invokes against raw `docker run --rm` of the same command (create + attach + start
      // + wait + remove): warm (pool full before each), cold (limits no pool has), reused (one
      // container, an exec each); then 24 warm invokes with 8 in flight.
      // Its own capacity of 8 (min_warm = max_warm): the burst below starts with 8 warm members.
      await http.expect('POST', '/v1/functions', 201, { name: 'bench-hello', script, network: 'none', max_concurrency: 8, min_warm: BURST_WARM, max_warm: BURST_WARM, timeout: 30 });
      const functionWarm = async (): Promise<void> => {
        const deadline = Date.now() + 60_000;
        while ((await http.expect('GET', '/v1/functions/bench-hello', 200)).json<{ capacity: { warm: number } }>().capacity.warm < BURST_WARM) {
          if (Date.now() > deadline) throw new Error(`bench-hello did not warm to ${BURST_WARM} within 60 s`);
          await sleep(50);
        }
      };
      await http.expect('POST', '/v1/functions', 201, { name: 'bench-cold', script, network: 'none', memory: 200 * MiB, max_warm: 0, timeout: 30 });
      await http.expect('POST', '/v1/functions', 201, { name: 'bench-reused', script, network: 'none', reuse: true, min_warm: 1, timeout: 30 });
      const timedInvoke = async (name: string, cold: boolean): Promise<number> => {
        const started = performance.now();
        const answer = (await http.expect('POST', `/v1/functions/${name}/invoke`, 200, {})).json<{ stdout: string; cold: boolean; duration_ms: number }>();
        const ms = performance.now() - started;
        if (answer.stdout !== `${LINE}\n` || answer.cold !== cold) throw new Error(`${name} answered ${JSON.stringify(answer)}`);
        invokeServerMs.get(name)?.push(answer.duration_ms);
        return ms;
      };
      const invokeServerMs = new Map<string, number[]>([['bench-hello', []], ['bench-cold', []], ['bench-reused', []]]);
      const invokesAgainstRaw = (what: string, boatload: () => Promise<number>) =>
        alternate({
          warmups: ctx.quick ? 1 : 2,
          iterations: ctx.iterations(15, 2),
          log: (m) => log(`${what} invoke: ${m}`),
          boatload,
          raw: rawInvoke,
        });
      // `docker run --rm`: to the container's removal.
      const rawInvoke = async (): Promise<number> => {
        const started = performance.now();
        await rawRun(() => rawNoNetwork(['/bin/sh', '-c', `echo '${LINE}'`]), { wait: true });
        return performance.now() - started;
      };
      const invokes = await invokesAgainstRaw('warm', async () => (await waitForFullPool(raw.docker, instanceId), timedInvoke('bench-hello', false)));
      const coldInvokes = await invokesAgainstRaw('cold', () => timedInvoke('bench-cold', true));
      await timedInvoke('bench-reused', true);
      const reusedInvokes = await invokesAgainstRaw('reused', () => timedInvoke('bench-reused', false));
      await functionWarm();
      const burst = ctx.quick ? 8 : 24;
      const burstStarted = performance.now();
      const answers = await mapLimit(Array.from({ length: burst }, (_, i) => i), 8, async () =>
        (await http.expect('POST', '/v1/functions/bench-hello/invoke', 200, {})).json<{ stdout: string; cold: boolean }>(),
      );
      const perSecond = burst / ((performance.now() - burstStarted) / 1000);
      if (answers.some((a) => a.stdout !== `${LINE}\n`)) throw new Error('an invoke of the burst answered the wrong output');
      await waitForFullPool(raw.docker, instanceId);
      const cost = await idleCost(raw.docker, await idleMembers(raw.docker, instanceId));
      const reason = `BoatLoad (pool of ${POOL_SIZE}, full before each run): POST script + GET stdout?follow=true; raw: create + attach + start, attach stream to its end`;
      return [
        compareRow({
          scenario: '9 warm script run',
          name: 'warm run: first output byte',
          unit: 'ms',
          higherIsBetter: false,
          boatload: timings.boatload.map((t) => t.firstByteMs),
          raw: timings.raw.map((t) => t.firstByteMs),
          target: { on: 'ratio', op: '<=', value: 0.5 },
          reason,
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'warm run: exit (output complete)',
          unit: 'ms',
          higherIsBetter: false,
          boatload: timings.boatload.map((t) => t.exitMs),
          raw: timings.raw.map((t) => t.exitMs),
          target: { on: 'ratio', op: '<=', value: 0.5 },
          reason,
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'warm internet run: exit (output complete)',
          unit: 'ms',
          higherIsBetter: false,
          boatload: internetWarm.boatload.map((t) => t.exitMs),
          raw: internetWarm.raw.map((t) => t.exitMs),
          target: null,
          reason: `BoatLoad: network internet, a member of the pool of ${POOL_SIZE} (full before each) joined to the owner's networks at the take; raw: create + attach + start on the default bridge`,
          extra: { first_byte_ms: internetWarm.boatload.map((t) => t.firstByteMs), raw_first_byte_ms: internetWarm.raw.map((t) => t.firstByteMs) },
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'cold internet run: exit (output complete)',
          unit: 'ms',
          higherIsBetter: false,
          boatload: internetCold.boatload.map((t) => t.exitMs),
          raw: internetCold.raw.map((t) => t.exitMs),
          target: null,
          reason: 'BoatLoad: network internet with limits no pool has (a container created on the owner\'s networks); raw: create + attach + start on the default bridge',
          extra: { first_byte_ms: internetCold.boatload.map((t) => t.firstByteMs), raw_first_byte_ms: internetCold.raw.map((t) => t.firstByteMs) },
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'function invoke (warm) against docker run',
          unit: 'ms',
          higherIsBetter: false,
          boatload: invokes.boatload,
          raw: invokes.raw,
          target: { on: 'ratio', op: '<=', value: 0.25 },
          reason: 'BoatLoad: POST /v1/functions/<name>/invoke (pool full before each); raw: create + attach + start + wait + remove (docker run --rm)',
          extra: { server_duration_ms: invokeServerMs.get('bench-hello') },
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'function invoke (cold) against docker run',
          unit: 'ms',
          higherIsBetter: false,
          boatload: coldInvokes.boatload,
          raw: coldInvokes.raw,
          target: null,
          reason: 'BoatLoad: POST .../invoke of a function with limits no pool has and max_warm 0 (a container created per invoke); raw: docker run --rm',
          extra: { server_duration_ms: invokeServerMs.get('bench-cold') },
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'function invoke (reuse: true) against docker run',
          unit: 'ms',
          higherIsBetter: false,
          boatload: reusedInvokes.boatload,
          raw: reusedInvokes.raw,
          target: null,
          reason: 'BoatLoad: POST .../invoke of a reuse: true function (an exec in its one running container); raw: docker run --rm',
          extra: { server_duration_ms: invokeServerMs.get('bench-reused') },
        }),
        compareRow({
          scenario: '9 warm script run',
          name: `function invokes/s, ${burst} at concurrency 8`,
          unit: 'invokes/s',
          higherIsBetter: true,
          boatload: [perSecond],
          raw: null,
          target: null,
          reason: `${answers.filter((a) => !a.cold).length} of ${burst} warm (the function's own ${BURST_WARM} members, refilling, and a shared pool of ${POOL_SIZE}; the rest cold)`,
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'pool: idle memory per member',
          unit: 'MiB',
          higherIsBetter: false,
          boatload: cost.memoryMiB,
          raw: null,
          target: null,
          reason: `engine stats (usage - inactive_file) of ${cost.memoryMiB.length} idle members`,
        }),
        compareRow({
          scenario: '9 warm script run',
          name: 'pool: idle CPU per member',
          unit: 'CPU ms/s',
          higherIsBetter: false,
          boatload: cost.cpuMsPerS,
          raw: null,
          target: null,
          reason: `engine stats over ${IDLE_SAMPLE_MS / 1000} s of ${cost.cpuMsPerS.length} idle members`,
        }),
      ];
    } finally {
      http.close();
      await system.stop().catch((err: Error) => log(`warm: stopping BoatLoad: ${err.message}`));
      await bl.removeFromEngine().catch(() => 0);
      // The satellite keeps the members' holding network (and users' networks for their grace); this
      // BoatLoad's are gone with it.
      if (bl.instanceId) {
        const networks = await raw.docker.listNetworks({ filters: { label: [`boatload.instance=${bl.instanceId}`] } }).catch(() => []);
        await Promise.all(networks.map((n) => raw.docker.getNetwork(n.Id).remove().catch(() => undefined)));
      }
      unregister();
    }
  },
};
