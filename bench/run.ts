/**
 * `npm run bench [-- --quick] [-- --only=create,archive|1,4] [-- --profile]`
 *
 * BoatLoad against the raw Docker Engine, side by side, in one run. Each scenario does the same
 * work through BoatLoad (HTTP → API → scheduler → satellite → engine, two real processes from
 * dist/) and straight on the engine's socket (dockerode / the Engine API), alternating the two
 * sides after warm-ups. Every figure is judged as a ratio measured in the same run (or, where
 * there is no engine equivalent, against an absolute target); absolute numbers are reported,
 * never asserted. Prints a table and writes bench/results/latest.json (latest-quick.json for
 * --quick) plus a timestamped copy.
 *
 * --quick     every scenario at tiny sizes, no timing checks (CI keeps the harness alive with it)
 * --only=…    scenario ids or numbers: create script burst archive stdout read units cluster warm store
 * --iterations=N  measured iterations (rounds, passes) per scenario instead of the defaults
 * --profile   run the API and the satellite with --cpu-prof; profiles go to bench/results/profiles/
 *             (summarize one with `node dist/bench/profile-summary.js <file>`)
 *
 * Exit status: 0 when every selected scenario ran (targets met or not), 1 when one failed to run
 * or broke a correctness check, 130 when interrupted. Every container and temp dir is removed at
 * the end, also on errors and on Ctrl-C.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';
import { BoatLoadApi } from './boatload';
import { RawEngine } from './raw';
import { formatTable, judge, machineInfo, resultsDocument, writeResults } from './report';
import { archive } from './scenarios/archive';
import { burst } from './scenarios/burst';
import { cluster } from './scenarios/cluster';
import { createRunning } from './scenarios/create-running';
import { readPath } from './scenarios/read-path';
import { scriptRoundTrip } from './scenarios/script-roundtrip';
import { stdout } from './scenarios/stdout';
import { store } from './scenarios/store';
import type { BenchContext, Row, Scenario } from './scenarios/types';
import { unitApi } from './scenarios/unit-api';
import { warmRun } from './scenarios/warm-run';
import { BoatLoadSystem } from './system';
import type { HttpClient } from './http';
import { log } from './util';

const SCENARIOS: Scenario[] = [createRunning, scriptRoundTrip, burst, archive, stdout, readPath, unitApi, cluster, warmRun, store];
const IMAGE = 'boatload/base:latest';

interface Args {
  quick: boolean;
  only: string[] | null;
  profile: boolean;
  iterations: number | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: null, profile: false, iterations: null };
  for (const arg of argv) {
    if (arg === '--quick') args.quick = true;
    else if (arg === '--profile') args.profile = true;
    else if (/^--iterations=\d+$/.test(arg) && Number(arg.slice(13)) > 0) args.iterations = Number(arg.slice(13));
    else if (arg.startsWith('--only=')) args.only = arg.slice('--only='.length).split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--only=create,script,burst,archive,stdout,read,units,cluster,warm,store|1..10] [--iterations=N] [--profile]\n');
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${arg} (try --help)\n`);
      process.exit(2);
    }
  }
  return args;
}

function select(only: string[] | null): Scenario[] {
  if (!only) return SCENARIOS;
  const chosen = SCENARIOS.filter((s) => only.includes(s.id) || only.includes(String(s.number)));
  const unknown = only.filter((o) => !SCENARIOS.some((s) => s.id === o || String(s.number) === o));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => `${s.number}=${s.id}`).join(' ')}`);
  return chosen;
}

/** The installation's instance label, from its store, so that even a very early Ctrl-C can clean up. */
function instanceIdOf(dataDir: string): string | null {
  try {
    const db = new Database(join(dataDir, 'boatload.sqlite3'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM settings WHERE key = 'instance_id'").get() as { value: string } | undefined;
      return row?.value ?? null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

function failedRow(scenario: Scenario, message: string): Row {
  return {
    scenario: `${scenario.number} ${scenario.title}`,
    name: scenario.title,
    unit: '-',
    boatload: null,
    raw: null,
    ratio: null,
    higherIsBetter: false,
    target: null,
    status: 'failed',
    reason: `failed: ${message.split('\n')[0].slice(0, 300)}`,
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const scenarios = select(args.only);
  const started = new Date();
  const loadStart = Math.round(loadavg()[0] * 100) / 100;
  const runId = randomBytes(4).toString('hex');
  const raw = new RawEngine(runId, IMAGE);
  let system: BoatLoadSystem | null = null;
  let http: HttpClient | null = null;
  let bl: BoatLoadApi | null = null;
  const rows: Row[] = [];
  const failures: string[] = [];
  const interruptCleanups = new Set<() => Promise<unknown>>();

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: stopping BoatLoad and removing the bench's containers (again to force)\n`);
    system?.killNow();
    void Promise.allSettled([bl?.removeFromEngine(), raw.removeAll(), ...[...interruptCleanups].map((cleanup) => cleanup())]).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    try {
      await raw.docker.ping();
    } catch (err) {
      throw new Error(`no Docker Engine at /var/run/docker.sock (${(err as Error).message}); npm start / scripts/lib.sh can start one`);
    }
    try {
      await raw.docker.getImage(IMAGE).inspect();
    } catch {
      throw new Error(`the image ${IMAGE} is missing; npm start (scripts/lib.sh ensure_base_image) builds it`);
    }
    const machine = await machineInfo(raw.docker, root);
    if (loadStart > machine.cores / 2) log(`note: the 1-minute load average is ${loadStart} on ${machine.cores} cores; other work is running and absolute figures will suffer (ratios less so)`);
    log(`machine: ${machine.cpu_model}, ${machine.cores} cores, ${machine.memory_gib} GiB, kernel ${machine.kernel}, node ${machine.node}, engine ${typeof machine.engine === 'string' ? machine.engine : machine.engine.version}`);
    log(`${args.quick ? 'quick' : 'full'} run ${runId}: ${scenarios.map((s) => `${s.number} ${s.id}`).join(', ')}`);

    const profileDir = args.profile ? join(root, 'bench', 'results', 'profiles', started.toISOString().replace(/[:.]/g, '-')) : undefined;
    system = await BoatLoadSystem.start({ root, cpuProfileDir: profileDir });
    log(`BoatLoad up: api pid ${system.apiPid} on :${system.apiPort}, satellite pid ${system.satellitePid} on :${system.satellitePort}, data ${system.dataDir}`);
    http = await system.login();
    bl = new BoatLoadApi(http, raw.docker);
    bl.instanceId = instanceIdOf(system.dataDir);
    const ctx: BenchContext = {
      quick: args.quick,
      system,
      bl,
      raw,
      image: IMAGE,
      authorization: http.headers.authorization,
      iterations: (full, quick) => args.iterations ?? (args.quick ? quick : full),
      cpuProfileDir: profileDir,
      onInterrupt: (cleanup) => {
        interruptCleanups.add(cleanup);
        return () => interruptCleanups.delete(cleanup);
      },
    };

    for (const scenario of scenarios) {
      if (interrupted) break;
      if (!system.alive) {
        rows.push(failedRow(scenario, 'a BoatLoad process is no longer running'));
        failures.push(`${scenario.id}: BoatLoad is down`);
        continue;
      }
      log(`== ${scenario.number}. ${scenario.title}`);
      const t0 = Date.now();
      try {
        rows.push(...(await scenario.run(ctx)));
      } catch (err) {
        const message = (err as Error).stack ?? String(err);
        process.stderr.write(`bench: scenario ${scenario.id} failed: ${message}\n`);
        rows.push(failedRow(scenario, (err as Error).message));
        failures.push(`${scenario.id}: ${(err as Error).message.split('\n')[0]}`);
      }
      log(`== ${scenario.number}. ${scenario.title} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (profileDir) log(`CPU profiles: ${profileDir} (written when the processes exit)`);

    const finished = new Date();
    const table = formatTable(rows, args.quick);
    process.stdout.write(`\n${table}\n\n`);
    const doc = resultsDocument(
      machine,
      {
        started: started.toISOString(),
        finished: finished.toISOString(),
        duration_s: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
        mode: args.quick ? 'quick' : 'full',
        only: args.only,
        iterations: args.iterations,
        failures,
        loadavg_start: loadStart,
        loadavg_end: Math.round(loadavg()[0] * 100) / 100,
      },
      rows,
      args.quick,
    );
    if (interrupted) {
      log('interrupted: results not written (a partial run would replace the last complete one)');
    } else {
      const written = writeResults(join(root, 'bench', 'results'), doc, args.quick);
      log(`results: ${written.join(', ')}`);
    }
    const missed = rows.filter((r) => judge(r, args.quick) === false && r.status === 'measured');
    if (!args.quick) log(`${rows.filter((r) => judge(r, false) === true).length} targets met, ${missed.length} missed, ${rows.filter((r) => r.status === 'skipped').length} skipped`);
  } catch (err) {
    failures.push((err as Error).message);
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  } finally {
    if (!interrupted) {
      http?.close();
      if (system) await system.stop().catch((err: Error) => process.stderr.write(`bench: stopping BoatLoad: ${err.message}\n`));
      const leftBoatLoad = bl ? await bl.removeFromEngine().catch(() => 0) : 0;
      const leftRaw = await raw.removeAll().catch(() => 0);
      if (leftBoatLoad || leftRaw) log(`cleanup removed ${leftBoatLoad} BoatLoad and ${leftRaw} raw containers that were left`);
      raw.close();
    }
  }
  if (failures.length) process.stderr.write(`bench: ${failures.length} failure(s):\n  ${failures.join('\n  ')}\n`);
  return failures.length ? 1 : 0;
}

if (!existsSync(join(projectRoot(), 'dist', 'api', 'main.js'))) {
  process.stderr.write('bench: dist/ is missing; run `npm run bench` (it compiles first)\n');
  process.exit(2);
}
main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
