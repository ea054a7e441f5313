/**
 * A warm member that reports its run (a function invocation's take: WarmTakeRequest.report) answers
 * the result route from its own report, before the engine records the exit, with exactly what the
 * engine answers for the same run: exit code, both outputs, the cap. A member killed before it
 * reports, a reader asking for another cap, and a member this satellite did not attach to (made
 * before a restart) fall back to the engine. Real engine, real members.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptySpec } from '../../common/container-spec';
import { silentLogger } from '../../common/logger';
import { SCRIPT_DIR, type RunResult, type WarmTakeRequest } from '../../common/satellite-protocol';
import { ContainerSessions } from '../../satellite/container-sessions';
import { WarmMembers } from '../../satellite/warm-members';
import { WarmReports, type ReportedRun } from '../../satellite/warm-reports';
import { BASE_IMAGE } from '../support/global-setup';
import { testHostEngine } from '../support/host-engine';

const docker = new Docker();
const engine = testHostEngine(docker);
const made: string[] = [];
let scriptDir: string;

beforeAll(async () => {
  scriptDir = await mkdtemp(join(tmpdir(), 'bl-warm-reports-'));
});

afterAll(async () => {
  await Promise.all(made.map((name) => docker.getContainer(name).remove({ force: true }).catch(() => undefined)));
  await rm(scriptDir, { recursive: true, force: true });
});

const membersOf = (): WarmMembers => new WarmMembers({ docker, engine, scriptDir, logLimits: { maxSize: '1m', maxFiles: 1 } });
const sessionsOf = (members: WarmMembers | null): ContainerSessions => new ContainerSessions({ docker, logger: silentLogger, reports: members?.reports });

async function member(members: WarmMembers): Promise<string> {
  const name = `bltest-report-${randomBytes(4).toString('hex')}`;
  made.push(name);
  const spec = emptySpec(name, BASE_IMAGE);
  spec.network = 'none';
  spec.labels = { 'boatload.test': 'warm-reports' };
  await members.create(spec);
  return name;
}

function take(script: string, extra: Partial<WarmTakeRequest> = {}): WarmTakeRequest {
  return { script: { path: `${SCRIPT_DIR}/run.sh`, contentBase64: Buffer.from(script).toString('base64') }, args: ['a b', 'c'], env: { GREETING: 'hi' }, ...extra };
}

/** The same run answered from the engine alone (a cold container of the same script and arguments). */
async function engineAnswer(script: string, maxOutputBytes: number): Promise<RunResult> {
  const name = `bltest-report-cold-${randomBytes(4).toString('hex')}`;
  made.push(name);
  const container = await docker.createContainer({ name, Image: BASE_IMAGE, Cmd: ['sh', '-c', script, 'run.sh', 'a b', 'c'], Env: ['GREETING=hi'], NetworkDisabled: true });
  await container.start();
  return sessionsOf(null).result(name, { timeoutMs: 20_000, maxOutputBytes });
}

const SCRIPT = ['#!/bin/sh', 'echo "args: $1 / $2"', 'echo "greeting: $GREETING"', 'echo oops >&2', 'ls /boatload', 'ls /proc/self/fd', 'exit 3', ''].join('\n');

test('a reporting run answers from its report before the engine records the exit, as the engine would answer', async () => {
  const members = membersOf();
  const name = await member(members);
  await members.take(name, take(SCRIPT, { report: { maxOutputBytes: 1024 } }));
  const reported = await members.reports.wait(name, new AbortController().signal);
  expect(reported).not.toBeNull();
  const viaRoute = await sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  expect(reported?.result).toEqual({ exit_code: 3, stdout: 'args: a b / c\ngreeting: hi\nrun.sh\n0\n1\n2\n3\n', stderr: 'oops\n', truncated: false, timed_out: false });
  // The route claimed nothing twice: the report went to the first reader, the route read the engine.
  expect(viaRoute).toEqual(reported?.result);
  expect(await engineAnswer(SCRIPT.replace('ls /boatload', 'echo run.sh'), 1024)).toEqual(reported?.result);
}, 60_000);

test('the result route answers from the report, with output over the cap cut as the engine cuts it', async () => {
  const members = membersOf();
  const name = await member(members);
  const script = '#!/bin/sh\nhead -c 3000 /dev/zero | tr "\\0" x\necho\necho é-é-é >&2\nexit 0\n';
  await members.take(name, take(script, { report: { maxOutputBytes: 1000 } }));
  const answer = await sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1000 });
  expect(answer).toEqual({ exit_code: 0, stdout: 'x'.repeat(1000), stderr: 'é-é-é\n', truncated: true, timed_out: false });
  expect(await engineAnswer(script, 1000)).toEqual(answer);
  // Claimed by the route: nothing is left to read.
  const abort = new AbortController();
  const left = members.reports.wait(name, abort.signal);
  setTimeout(() => abort.abort(), 200);
  await expect(Promise.race([left, new Promise((resolve) => setTimeout(() => resolve('nothing'), 400))])).resolves.toBe('nothing');
}, 60_000);

test('a reader that comes before the take gets the report once the run ends', async () => {
  const members = membersOf();
  const name = await member(members);
  const answer = sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await members.take(name, take('#!/bin/sh\necho early\nexit 7\n', { report: { maxOutputBytes: 1024 } }));
  await expect(answer).resolves.toEqual({ exit_code: 7, stdout: 'early\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a script killed by a signal reports what the engine reports (128 + the signal), and the shell adds nothing to stderr', async () => {
  const members = membersOf();
  const name = await member(members);
  // Not PID 1 in a reporting run (documented), so the script can kill itself.
  await members.take(name, take('#!/bin/sh\necho before\necho err >&2\nkill -9 $$\n', { report: { maxOutputBytes: 1024 } }));
  const reported = await members.reports.wait(name, new AbortController().signal);
  expect(reported?.result).toEqual({ exit_code: 137, stdout: 'before\n', stderr: 'err\n', truncated: false, timed_out: false });
  expect((await docker.getContainer(name).wait()).StatusCode).toBe(137);
}, 60_000);

test('a member killed before it reports: no report, and the route answers from the engine', async () => {
  const members = membersOf();
  const name = await member(members);
  const answer = sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  await members.take(name, take('#!/bin/sh\necho started\nsleep 30\n', { report: { maxOutputBytes: 1024 } }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await docker.getContainer(name).kill({ signal: 'SIGKILL' });
  await expect(answer).resolves.toEqual({ exit_code: 137, stdout: 'started\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a reader asking for another cap than the report kept reads the engine', async () => {
  const members = membersOf();
  const name = await member(members);
  await members.take(name, take('#!/bin/sh\necho 0123456789\n', { report: { maxOutputBytes: 4 } }));
  const answer = await sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  expect(answer).toEqual({ exit_code: 0, stdout: '0123456789\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a member made before a restart (no attach stream here) runs as usual, its script PID 1, answered by the engine', async () => {
  const before = membersOf();
  const name = await member(before);
  const after = membersOf();
  await after.take(name, take('#!/bin/sh\necho "pid $$"\nls /boatload\nls /proc/self/fd\nexit 4\n', { report: { maxOutputBytes: 1024 } }));
  const answer = await sessionsOf(after).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  expect(answer).toEqual({ exit_code: 4, stdout: 'pid 1\nrun.sh\n0\n1\n2\n3\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a run that reports no result keeps the exec form: its script is PID 1, without fd 5', async () => {
  const members = membersOf();
  const name = await member(members);
  await members.take(name, take('#!/bin/sh\necho "pid $$"\nls /proc/self/fd\n'));
  const answer = await sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  expect(answer).toEqual({ exit_code: 0, stdout: 'pid 1\n0\n1\n2\n3\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a take asking for a report with a bad cap is a 400 and leaves the member waiting', async () => {
  const members = membersOf();
  const name = await member(members);
  await expect(members.take(name, take('#!/bin/sh\n', { report: { maxOutputBytes: -1 } }))).rejects.toMatchObject({ status: 400 });
  await members.take(name, take('#!/bin/sh\nexit 0\n'));
  await expect(sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 })).resolves.toMatchObject({ exit_code: 0 });
}, 60_000);

test('a script that writes on the status FIFO itself (through /proc/1/fd/5), without the take\'s nonce, gets no report: the engine answers its real exit', async () => {
  const members = membersOf();
  const name = await member(members);
  // A line of its own, and a prefix to the shell's line: neither is a status.
  await members.take(name, take('#!/bin/sh\necho 0 >/proc/1/fd/5\nprintf 4 >/proc/1/fd/5\necho done\nexit 3\n', { report: { maxOutputBytes: 1024 } }));
  await expect(members.reports.wait(name, new AbortController().signal)).resolves.toBeNull();
  await expect(sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 })).resolves.toEqual({ exit_code: 3, stdout: 'done\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('an attach stream that breaks off mid-run gives no report: the engine answers the whole output', async () => {
  // A fake only to inject the fault: the real engine, but the member's attach stream is kept so that
  // the test can break it off (a connection to the engine lost mid-run).
  const streams: NodeJS.ReadableStream[] = [];
  const faulty = Object.create(docker) as Docker;
  faulty.createContainer = async (options: Docker.ContainerCreateOptions) => {
    const container = await docker.createContainer(options);
    const attach = container.attach.bind(container) as (o: object) => Promise<NodeJS.ReadableStream>;
    (container as unknown as { attach: (o: object) => Promise<NodeJS.ReadableStream> }).attach = async (o: object) => {
      const stream = await attach(o);
      streams.push(stream);
      return stream;
    };
    return container;
  };
  const members = new WarmMembers({ docker: faulty, engine, scriptDir, logLimits: { maxSize: '1m', maxFiles: 1 } });
  const name = await member(members);
  await members.take(name, take('#!/bin/sh\necho a\nsleep 1\necho b\nexit 5\n', { report: { maxOutputBytes: 1024 } }));
  const reported = members.reports.wait(name, new AbortController().signal);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(streams).toHaveLength(1);
  (streams[0] as unknown as { destroy(): void }).destroy();
  await expect(reported).resolves.toBeNull();
  await expect(sessionsOf(members).result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 })).resolves.toEqual({ exit_code: 5, stdout: 'a\nb\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('the route answers from the report without waiting for the engine\'s exit', async () => {
  // A fake only to inject the fault: the real engine, except that its wait for the exit never
  // answers (an engine slow to record it), so only the member's report can answer.
  const stuck = Object.create(docker) as Docker;
  stuck.getContainer = (id: string) => {
    const container = docker.getContainer(id);
    (container as unknown as { wait: () => Promise<never> }).wait = () => new Promise<never>(() => undefined);
    return container;
  };
  const members = membersOf();
  const name = await member(members);
  await members.take(name, take('#!/bin/sh\necho fast\nexit 6\n', { report: { maxOutputBytes: 1024 } }));
  const sessions = new ContainerSessions({ docker: stuck, logger: silentLogger, reports: members.reports });
  await expect(sessions.result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 })).resolves.toEqual({ exit_code: 6, stdout: 'fast\n', stderr: '', truncated: false, timed_out: false });
}, 60_000);

test('a reporting run past the timeout answers timed_out with its output so far, as the engine would', async () => {
  const members = membersOf();
  const name = await member(members);
  await members.take(name, take('#!/bin/sh\necho started\nsleep 2\necho late\n', { report: { maxOutputBytes: 1024 } }));
  await expect(sessionsOf(members).result(name, { timeoutMs: 800, maxOutputBytes: 1024 })).resolves.toEqual({ exit_code: null, stdout: 'started\n', stderr: '', truncated: false, timed_out: true });
}, 60_000);

test('finished reports nobody claims are held up to a total cap: past it the oldest is dropped, and its reader reads the engine', async () => {
  const reports = new WarmReports(1000);
  const reported = (bytes: number): Promise<ReportedRun> => Promise.resolve({ result: { exit_code: 0, stdout: 'x'.repeat(bytes), stderr: '', truncated: false, timed_out: false }, maxOutputBytes: 1000 });
  /** The report a reader would get within 100 ms, or 'none' (it would then read the engine). */
  const readWithin = async (name: string): Promise<number | 'none'> => {
    const signal = AbortSignal.timeout(100);
    const run = await Promise.race([reports.wait(name, signal), new Promise<'none'>((resolve) => signal.addEventListener('abort', () => resolve('none')))]);
    return run === 'none' || run === null ? 'none' : run.result.stdout.length;
  };
  reports.add('claimed', reported(900));
  await new Promise((resolve) => setImmediate(resolve)); // finished: held, 900 of 1000
  expect(await readWithin('claimed')).toBe(900); // claimed: its bytes no longer count
  reports.add('a', reported(400));
  reports.add('b', reported(400));
  await new Promise((resolve) => setImmediate(resolve));
  reports.add('c', reported(400)); // 1200 > 1000: 'a', the oldest, goes
  await new Promise((resolve) => setImmediate(resolve));
  expect(await readWithin('a')).toBe('none');
  expect(await readWithin('b')).toBe(400);
  expect(await readWithin('c')).toBe(400);
  // A report over the cap on its own is not held at all.
  reports.add('huge', reported(1001));
  await new Promise((resolve) => setImmediate(resolve));
  expect(await readWithin('huge')).toBe('none');
});
