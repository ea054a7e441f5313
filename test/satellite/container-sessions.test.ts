/**
 * A run's result and its followed output read from the engine (ContainerSessions.result and
 * outputEvents) when the container's first start was refused. Docker quirk (Swarm): a task's container whose overlay the node was tearing down
 * fails its first start with "network <id> not found", and the node's executor makes the network
 * again and starts it once more. Played here on the real engine with the same engine states: a
 * container on a network removed before its start (refused: created, with that error), the network
 * made again and the container started, as the executor does.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../common/logger';
import { ContainerSessions } from '../../satellite/container-sessions';
import { BASE_IMAGE } from '../support/global-setup';

const docker = new Docker();
const sessions = new ContainerSessions({ docker, logger: silentLogger });
const made: Array<{ container: string; network: string }> = [];

afterAll(async () => {
  for (const { container, network } of made) {
    await docker.getContainer(container).remove({ force: true }).catch(() => undefined);
    await docker.getNetwork(network).remove().catch(() => undefined);
  }
});

/** A container whose first start the engine refused: "network <name> not found". */
async function refusedStart(cmd: string[]): Promise<{ container: string; network: string }> {
  const suffix = randomBytes(4).toString('hex');
  const names = { container: `bltest-sessions-${suffix}`, network: `bltest-sessions-net-${suffix}` };
  made.push(names);
  await docker.createNetwork({ Name: names.network });
  await docker.createContainer({ name: names.container, Image: BASE_IMAGE, Cmd: cmd, HostConfig: { NetworkMode: names.network } });
  await docker.getNetwork(names.network).remove();
  await expect(docker.getContainer(names.container).start()).rejects.toThrow(/not found/);
  const state = (await docker.getContainer(names.container).inspect()).State;
  expect(state).toMatchObject({ Status: 'created', Error: `network ${names.network} not found` });
  return names;
}

test('a start refused for a missing network and then made again: the result is the run the second start made', async () => {
  const { container, network } = await refusedStart(['sh', '-c', 'echo ran; echo oops >&2; exit 3']);
  const result = sessions.result(container, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await docker.createNetwork({ Name: network });
  await docker.getContainer(container).start();
  expect(await result).toEqual({ exit_code: 3, stdout: 'ran\n', stderr: 'oops\n', truncated: false, timed_out: false });
});

test('a start refused for a missing network and never made again: the start error answers, after the wait for a second start', async () => {
  const { container, network } = await refusedStart(['sh', '-c', 'echo ran']);
  const started = Date.now();
  expect(await sessions.result(container, { timeoutMs: 20_000, maxOutputBytes: 1024 })).toEqual({ exit_code: null, stdout: '', stderr: `network ${network} not found\n`, truncated: false, timed_out: false });
  expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
});

test("a deadline that comes during that wait: the refusal answers, not a timeout", async () => {
  const { container, network } = await refusedStart(['sh', '-c', 'echo ran']);
  const started = Date.now();
  expect(await sessions.result(container, { timeoutMs: 1000, maxOutputBytes: 1024 })).toEqual({ exit_code: null, stdout: '', stderr: `network ${network} not found\n`, truncated: false, timed_out: false });
  expect(Date.now() - started).toBeLessThan(4500); // the deadline, not the wait, ended it
});

test('any other refused start answers at once', async () => {
  const name = `bltest-sessions-${randomBytes(4).toString('hex')}`;
  made.push({ container: name, network: 'none' });
  await docker.createContainer({ name, Image: BASE_IMAGE, Cmd: ['/no/such/program'] });
  await expect(docker.getContainer(name).start()).rejects.toThrow();
  const started = Date.now();
  const result = await sessions.result(name, { timeoutMs: 20_000, maxOutputBytes: 1024 });
  expect(Date.now() - started).toBeLessThan(4500); // no wait for a second start
  expect(result).toMatchObject({ exit_code: null, stdout: '', timed_out: false });
  expect(result.stderr).toMatch(/no such file or directory/);
});

/** Every event of a followed output until its end (the exit event), as `event: data` lines. */
async function followed(container: string): Promise<string[]> {
  const events: string[] = [];
  for await (const chunk of sessions.outputEvents(container, { since: null, exclusive: false, signal: AbortSignal.timeout(20_000) })) {
    const event = /^event: (.*)$/m.exec(chunk)?.[1];
    if (event) events.push(`${event}: ${[...chunk.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n')}`);
  }
  return events;
}

test('a followed output across a start refused for a missing network: the run the second start made, then its exit', async () => {
  const { container, network } = await refusedStart(['sh', '-c', 'echo ran; exit 3']);
  const events = followed(container);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await docker.createNetwork({ Name: network });
  await docker.getContainer(container).start();
  const seen = await events;
  expect(seen[0]).toBe('stdout: ran');
  expect(seen).toHaveLength(2);
  expect(JSON.parse(seen[1].slice('exit: '.length))).toMatchObject({ exit_code: 3, error: null });
});

test('a followed output of a start refused and never made again: it ends with the refusal as the exit\'s error, after the wait', async () => {
  const { container, network } = await refusedStart(['sh', '-c', 'echo ran']);
  const seen = await followed(container);
  expect(seen).toHaveLength(1);
  expect(JSON.parse(seen[0].slice('exit: '.length))).toMatchObject({ error: `network ${network} not found` });
});
