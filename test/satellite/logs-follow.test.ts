/**
 * Following a container's output from before its start: the engine ends a follow of a container
 * that is not running at once (it reads whatever was logged), so a client that follows right after
 * its POST, before the container started, must still get the run's output.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { BASE_IMAGE } from '../support/global-setup';
import { testHostEngine } from '../support/host-engine';

const docker = new Docker();
const engine = testHostEngine(docker);
const made: string[] = [];

async function created(): Promise<Docker.Container> {
  const name = `test-follow-${randomBytes(4).toString('hex')}`;
  made.push(name);
  return docker.createContainer({ name, Image: BASE_IMAGE, Cmd: ['sh', '-c', 'echo first; sleep 0.3; echo second'] });
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

afterAll(async () => {
  await Promise.all(made.map((name) => docker.getContainer(name).remove({ force: true }).catch(() => undefined)));
});

test('a follow opened before the start streams the whole run once it starts', async () => {
  const container = await created();
  const output = collect(await engine.logs(container.id, { streams: new Set(['stdout']), follow: true }));
  await new Promise((resolve) => setTimeout(resolve, 500));
  await container.start();
  await expect(output).resolves.toBe('first\nsecond\n');
});

test('a follow of a container removed before it started ends, empty', async () => {
  const container = await created();
  const output = collect(await engine.logs(container.id, { streams: new Set(['stdout']), follow: true }).catch(() => {
    throw new Error('the follow failed to open');
  }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await container.remove({ force: true });
  await expect(output).resolves.toBe('');
});

test('without follow, a container that never started answers at once, empty', async () => {
  const container = await created();
  await expect(collect(await engine.logs(container.id, { streams: new Set(['stdout']), follow: false }))).resolves.toBe('');
});
