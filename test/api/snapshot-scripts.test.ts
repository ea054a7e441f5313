/**
 * Snapshots of script containers, on a real engine: the script is a bind mount of a host file, which
 * an engine commit does not capture, so the snapshot carries it in the store and every container made
 * from it (a fork's copies, a create with `snapshot`) has it staged again.
 */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';
import { b64, eventually } from '../support/system';

let system: SandboxSystem;
let alice: string;
let original: string;
const agent = new Agent({ keepAlive: false });
const docker = new Docker({ agent } as Docker.DockerOptions);
const auth = (token: string): [string, string] => system.auth(token);

// Each run appends the container's hostname (its engine id): a copy that ran the script again adds its own line.
const SCRIPT = '#!/bin/sh\nmkdir -p /work\nhostname >> /work/runs\necho "$1" > /work/arg\nexec sleep 600\n';

beforeAll(async () => {
  system = await startSandboxSystem();
  alice = await system.token('alice');
  original = await system.create(alice, { script: b64(SCRIPT), scriptname: 'run.sh', container_args: ['first-arg'], permanent: true }, 'wait=ready');
  await run(original, 'echo written-by-original > /work/note');
});

afterAll(async () => {
  await system.close();
  agent.destroy();
}, 180000);

const binary = (res: import('superagent').Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

async function run(id: string, command: string): Promise<{ exit_code: number; stdout: string }> {
  const res = await system.http().post(`/v1/container/${id}/exec`).set(...auth(alice)).send({ cmd: ['/bin/sh', '-c', command] }).expect(200);
  return res.body;
}

async function operationOf(path: string, body: object = {}): Promise<Record<string, unknown>> {
  const res = await system.http().post(path).set(...auth(alice)).send(body).expect(202);
  return system.operation(alice, res.body.operation.id as string, 60000);
}

/** Running the script (not crash-looping): running, never restarted, and the script ran once in it. */
async function expectRunsScript(id: string): Promise<void> {
  const state = await eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set(...auth(alice)).expect(200);
    return res.body.docker_state.Running ? res.body : undefined;
  }, 20000, `container ${id} running`);
  // A restart loop shows in the engine's restart count, a moment after the first failed start.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const again = await system.http().get(`/v1/container/${id}/state`).set(...auth(alice)).expect(200);
  expect(again.body.status).toBe('running');
  expect(again.body.docker_state).toMatchObject({ Running: true, Restarting: false });
  const inspect = await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(200);
  expect(inspect.body.status).toBe('running');
  expect(state.docker_state.Running).toBe(true);
  const restarts = (await run(id, 'wc -l < /work/runs')).stdout.trim();
  // The original's line plus this container's own: the script ran again here, once.
  expect(restarts).toBe('2');
  expect((await run(id, 'cat /work/note')).stdout).toBe('written-by-original\n');
}

describe('forks of a script container', () => {
  let copies: string[];

  beforeAll(async () => {
    const done = await operationOf(`/v1/container/${original}/fork`, { count: 2 });
    expect(done).toMatchObject({ status: 'succeeded', kind: 'fork' });
    copies = (done.result as { containers: string[] }).containers;
    expect(copies).toHaveLength(2);
  });

  test('every copy runs the script again, with the original\'s arguments, and reads what the original wrote', async () => {
    // The copies are checked at the same time: each check waits 1.5 s for a restart loop to show.
    await Promise.all(copies.map(async (copy) => {
      await expectRunsScript(copy);
      expect((await run(copy, 'cat /work/arg')).stdout).toBe('first-arg\n');
      const record = (await system.http().get(`/v1/container/${copy}/`).set(...auth(alice)).expect(200)).body;
      expect(record).toMatchObject({ scriptname: 'run.sh', container_args: ['first-arg'], permanent: true });
      // The copy's script is served like any container's.
      const script = await system.http().get(`/v1/container/${copy}/script`).set(...auth(alice)).expect(200);
      expect(script.text).toBe(SCRIPT);
    }));
  });

  test('the engine restart count of every copy stays 0', async () => {
    for (const copy of copies) {
      const info = await docker.getContainer(`boatload-${copy}`).inspect();
      expect(info.RestartCount).toBe(0);
    }
  });
});

describe('containers created from a snapshot of a script container', () => {
  let snapshot: string;

  beforeAll(async () => {
    const done = await operationOf(`/v1/container/${original}/snapshot`, { name: 'scripted' });
    expect(done).toMatchObject({ status: 'succeeded' });
    snapshot = (done.result as { snapshot: { id: string } }).snapshot.id;
  });

  test('without a script of their own they run the snapshot\'s script and arguments', async () => {
    const id = await system.create(alice, { snapshot, permanent: true }, 'wait=ready');
    await expectRunsScript(id);
    expect((await run(id, 'cat /work/arg')).stdout).toBe('first-arg\n');
    expect((await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(200)).body).toMatchObject({ snapshot, scriptname: 'run.sh', container_args: ['first-arg'] });
  });

  test('container_args replace the snapshot\'s arguments; the script stays', async () => {
    const id = await system.create(alice, { snapshot, container_args: ['other-arg'] }, 'wait=ready');
    await expectRunsScript(id);
    expect((await run(id, 'cat /work/arg')).stdout).toBe('other-arg\n');
  });

  test('a script of their own replaces the snapshot\'s', async () => {
    const own = '#!/bin/sh\necho own > /work/own\nexec sleep 600\n';
    const id = await system.create(alice, { snapshot, script: b64(own) }, 'wait=ready');
    await eventually(async () => ((await run(id, 'cat /work/own 2>/dev/null')).stdout === 'own\n' ? true : undefined), 10000, 'own script ran');
    expect((await run(id, 'wc -l < /work/runs')).stdout.trim()).toBe('1');
    const record = (await system.http().get(`/v1/container/${id}/`).set(...auth(alice)).expect(200)).body;
    expect(record).toMatchObject({ scriptname: 'script', container_args: [] });
  });

  test('/boatload stays out of changes, files and archive of a copy; the script is read at its path', async () => {
    const id = await system.create(alice, { snapshot }, 'wait=ready');
    await expectRunsScript(id);
    const changes = await system.http().get(`/v1/container/${id}/changes`).set(...auth(alice)).expect(200);
    expect(changes.body.length).toBeGreaterThan(0);
    expect(JSON.stringify(changes.body)).not.toContain('/boatload');
    const files = await system.http().get(`/v1/container/${id}/file`).set(...auth(alice)).expect(200);
    expect(files.body.map((f: { path: string }) => f.path)).toEqual(['/work/arg', '/work/runs']);
    const archive = await system.http().get(`/v1/container/${id}/archive`).set(...auth(alice)).buffer(true).parse(binary).expect(200);
    expect((archive.body as Buffer).includes('boatload/')).toBe(false);
    expect((archive.body as Buffer).includes('work/runs')).toBe(true);
    // Through the engine, the file at the script's path is the script (the image holds only an empty placeholder).
    const file = await system.http().get(`/v1/container/${id}/file/boatload/run.sh`).set(...auth(alice)).buffer(true).parse(binary).expect(200);
    expect((file.body as Buffer).toString('utf8')).toBe(SCRIPT);
  });
});
