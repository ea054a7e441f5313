/** The /v1/container/ contract on a real engine: every route, ownership, restarts. */
import Docker from 'dockerode';
import { readTar } from '../support/archives';
import { gunzipSync } from 'node:zlib';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let admin: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  system = await startSystem();
  admin = await system.token('admin');
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  await system.close();
});

const SCRIPT = [
  '#!/bin/sh',
  'echo "hello $1 $2 $GREETING"',
  'echo "to stderr" >&2',
  'mkdir -p /out/sub',
  'echo result > /out/r.txt',
  'echo deep > /out/sub/d.txt',
  'ln -s r.txt /out/link',
  // Never in an archive: a fifo (nor a device node).
  'mkfifo /out/pipe',
  'echo extra >> /etc/passwd',
  'rm /etc/group',
  '',
].join('\n');

async function create(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send(body);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function waitForStatus(token: string, id: string, statuses: string[]): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`);
    return statuses.includes(res.body.status) ? (res.body as Record<string, unknown>) : undefined;
  }, 20000, `container ${id} to be ${statuses.join('/')}`);
}

/** A tar's entries by name, bodies as text. */
async function tarByName(buffer: Buffer): Promise<Map<string, { type: string; body: string }>> {
  return new Map((await readTar(buffer)).map((entry) => [entry.name, { type: entry.type, body: entry.body.toString() }]));
}

const binary = (res: import('superagent').Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('a script container, from create to delete', () => {
  let id: string;

  beforeAll(async () => {
    id = await create(alice, { script: b64(SCRIPT), container_args: "world 'with space'", env: { GREETING: 'hi' } });
    await waitForStatus(alice, id, ['exited']);
  });

  test('POST answers the record with a 32-hex id and the request as given', async () => {
    const res = await system.http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body).toMatchObject({ id, owner: 'alice', image: 'boatload/base:latest', status: 'exited', exit_code: 0, permanent: false, scriptname: 'script', container_args: ['world', 'with space'], env: { GREETING: 'hi' } });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.node).toMatch(/^[0-9a-f]{32}$/);
  });

  test('GET / lists it for its owner, with a state summary', async () => {
    const res = await system.http().get('/v1/container').set('Authorization', `JWT ${alice}`).expect(200);
    const entry = res.body.find((c: { id: string }) => c.id === id);
    expect(entry).toMatchObject({ id, owner: 'alice', status: 'exited', exit_code: 0 });
  });

  test('stdout streams both streams by default and one when asked', async () => {
    const all = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(all.headers['content-type']).toMatch(/^text\/plain/);
    expect(all.text).toContain('hello world with space hi');
    expect(all.text).toContain('to stderr');
    const out = await system.http().get(`/v1/container/${id}/stdout?stream=stdout`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(out.text).toBe('hello world with space hi\n');
    const err = await system.http().get(`/v1/container/${id}/stdout?stream=stderr`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(err.text).toBe('to stderr\n');
  });

  test('script returns the script as submitted', async () => {
    const res = await system.http().get(`/v1/container/${id}/script`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.text).toBe(SCRIPT);
  });

  test('state merges the scheduler view and the engine view', async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body.fleet_state).toEqual({ name: `${id}.service`, loadState: 'loaded', activeState: 'inactive', subState: 'dead' });
    expect(res.body.docker_state).toMatchObject({ Status: 'exited', ExitCode: 0, Running: false, OOMKilled: false, Dead: false, Paused: false, Restarting: false, Pid: 0, Error: '' });
    expect(Object.keys(res.body.docker_state).sort()).toEqual(['Dead', 'Error', 'ExitCode', 'FinishedAt', 'OOMKilled', 'Paused', 'Pid', 'Restarting', 'Running', 'StartedAt', 'Status']);
  });

  test('changes is the engine diff, without the staged script', async () => {
    const res = await system.http().get(`/v1/container/${id}/changes`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body).toEqual(
      expect.arrayContaining([
        { Path: '/out', Kind: 1 },
        { Path: '/out/r.txt', Kind: 1 },
        { Path: '/etc/passwd', Kind: 0 },
        { Path: '/etc/group', Kind: 2 },
      ]),
    );
    expect(res.body.some((c: { Path: string }) => c.Path.startsWith('/boatload'))).toBe(false);
  });

  test('file lists changed regular files only, numbered in path order', async () => {
    const res = await system.http().get(`/v1/container/${id}/file`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body).toEqual([
      { num: 0, path: '/etc/passwd', size: expect.any(Number) },
      { num: 1, path: '/out/r.txt', size: 7 },
      { num: 2, path: '/out/sub/d.txt', size: 5 },
    ]);
  });

  test('file/<path> streams one file with Content-Disposition; symlinks resolve inside the container', async () => {
    const res = await system.http().get(`/v1/container/${id}/file/out/r.txt`).set('Authorization', `JWT ${alice}`).buffer(true).parse(binary).expect(200);
    expect(res.body.toString()).toBe('result\n');
    expect(res.headers['content-disposition']).toContain('filename="r.txt"');
    expect(res.headers['content-length']).toBe('7');
    const link = await system.http().get(`/v1/container/${id}/file/out/link`).set('Authorization', `JWT ${alice}`).buffer(true).parse(binary).expect(200);
    expect(link.body.toString()).toBe('result\n');
  });

  test('file/<path> of a missing file or a directory is a 404; ".." is a 400', async () => {
    await system.http().get(`/v1/container/${id}/file/nope.txt`).set('Authorization', `JWT ${alice}`).expect(404);
    await system.http().get(`/v1/container/${id}/file/out`).set('Authorization', `JWT ${alice}`).expect(404);
    const res = await system.http().get(`/v1/container/${id}/file/out/%2E%2E/%2E%2E/etc/shadow`).set('Authorization', `JWT ${alice}`).expect(400);
    expect(res.body).toEqual({ filepath: ['Must not contain "..".'] });
  });

  test('filebynum/<n> is entry n of the file list; out of range is a 404, garbage a 400', async () => {
    const res = await system.http().get(`/v1/container/${id}/filebynum/2`).set('Authorization', `JWT ${alice}`).buffer(true).parse(binary).expect(200);
    expect(res.body.toString()).toBe('deep\n');
    expect(res.headers['content-disposition']).toContain('filename="d.txt"');
    await system.http().get(`/v1/container/${id}/filebynum/3`).set('Authorization', `JWT ${alice}`).expect(404);
    await system.http().get(`/v1/container/${id}/filebynum/99999999999999999999`).set('Authorization', `JWT ${alice}`).expect(400);
    await system.http().get(`/v1/container/${id}/filebynum/-1`).set('Authorization', `JWT ${alice}`).expect(400);
  });

  test('archive is a tar of every change but fifos and devices (gzip when asked)', async () => {
    const res = await system.http().get(`/v1/container/${id}/archive`).set('Authorization', `JWT ${alice}`).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('application/x-tar');
    const entries = await tarByName(res.body);
    expect([...entries.keys()].sort()).toEqual(['etc/passwd', 'out/', 'out/link', 'out/r.txt', 'out/sub/', 'out/sub/d.txt']);
    expect(entries.get('out/r.txt')).toEqual({ type: 'file', body: 'result\n' });
    expect(entries.get('out/link')?.type).toBe('symlink');
    const gz = await system.http().get(`/v1/container/${id}/archive?gzip=true`).set('Authorization', `JWT ${alice}`).buffer(true).parse(binary).expect(200);
    expect(gz.headers['content-disposition']).toContain(`${id}.tar.gz`);
    const unzipped = await tarByName(gunzipSync(gz.body));
    expect(unzipped.get('out/sub/d.txt')?.body).toBe('deep\n');
  });

  test('metrics answers the documented shape', async () => {
    const res = await system.http().get(`/v1/container/${id}/metrics`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body).toMatchObject({ timestamp: expect.any(String), memory: expect.any(Object), network: { rx_bytes: expect.any(Number), tx_bytes: expect.any(Number) }, pids: expect.any(Number) });
  });

  test('someone else gets 404 for every route; an admin sees it', async () => {
    for (const path of ['', 'stdout', 'script', 'state', 'metrics', 'changes', 'file', 'file/out/r.txt', 'filebynum/0', 'archive']) {
      await system.http().get(`/v1/container/${id}/${path}`).set('Authorization', `JWT ${bob}`).expect(404);
    }
    await system.http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${bob}`).expect(404);
    const list = await system.http().get('/v1/container/').set('Authorization', `JWT ${bob}`).expect(200);
    expect(list.body.find((c: { id: string }) => c.id === id)).toBeUndefined();
    await system.http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${admin}`).expect(200);
    const all = await system.http().get('/v1/container/').set('Authorization', `JWT ${admin}`).expect(200);
    expect(all.body.find((c: { id: string }) => c.id === id)).toBeDefined();
  });

  test('DELETE removes the container and its unit: 204, then 404, and the engine has nothing', async () => {
    await system.http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(204);
    await system.http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(404);
    await system.http().delete(`/v1/container/${id}`).set('Authorization', `JWT ${alice}`).expect(404);
    const docker = new Docker();
    const left = await docker.listContainers({ all: true, filters: { label: [`boatload.id=${id}`] } });
    expect(left).toEqual([]);
    expect(await system.api.scheduler.get(`${id}.service`)).toBeUndefined();
  });
});

describe('creating containers', () => {
  test('multipart upload with the script as file field "script"', async () => {
    const res = await system
      .http()
      .post('/v1/container/')
      .set('Authorization', `JWT ${alice}`)
      .field('container_args', 'one two')
      .field('permanent', 'false')
      .field('scriptname', 'job.sh')
      .attach('script', Buffer.from('#!/bin/sh\necho "multipart $@"\n'), 'job.sh')
      .expect(201);
    expect(res.body.scriptname).toBe('job.sh');
    await waitForStatus(alice, res.body.id, ['exited']);
    const out = await system.http().get(`/v1/container/${res.body.id}/stdout`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(out.text).toBe('multipart one two\n');
  });

  test('without a script the image command runs with the args', async () => {
    const id = await create(alice, { container_args: ['echo', 'no script here'] });
    await waitForStatus(alice, id, ['exited']);
    const out = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(out.text).toBe('no script here\n');
  });

  test('tail=N keeps the last N lines', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\necho one\necho two\necho three\n') });
    await waitForStatus(alice, id, ['exited']);
    const tail = await system.http().get(`/v1/container/${id}/stdout?tail=2`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(tail.text).toBe('two\nthree\n');
    await system.http().get(`/v1/container/${id}/stdout?tail=-1`).set('Authorization', `JWT ${alice}`).expect(400);
  });

  test('per-request limits within the maxima reach the engine; past them is a 400', async () => {
    const id = await create(alice, { container_args: ['true'], memory: 64 * 1024 * 1024, cpus: 0.5, pids: 100 });
    const info = await new Docker().getContainer(`boatload-${id}`).inspect();
    expect(info.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 100 });
    const form = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).field('container_args', 'true').field('pids', '50').expect(201);
    expect((await new Docker().getContainer(`boatload-${form.body.id}`).inspect()).HostConfig.PidsLimit).toBe(50);
    const over = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).send({ memory: 64 * 1024 ** 4, cpus: 64, pids: 10 ** 7 }).expect(400);
    expect(Object.keys(over.body).sort()).toEqual(['cpus', 'memory', 'pids']);
    expect(over.body.memory[0]).toMatch(/administrator's maximum/);
    const under = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).send({ memory: 1024, cpus: 0, pids: 1 }).expect(400);
    expect(Object.keys(under.body).sort()).toEqual(['cpus', 'memory', 'pids']);
  });

  test('a non-zero exit is reported with its code', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\nexit 3\n') });
    const state = await waitForStatus(alice, id, ['exited']);
    expect(state).toMatchObject({ fleet_state: { activeState: 'failed', subState: 'failed' }, docker_state: { ExitCode: 3 } });
  });

  test('a command the engine cannot start is an error state, with the reason', async () => {
    const id = await create(alice, { container_args: '/no/such/binary' });
    const state = await waitForStatus(alice, id, ['error']);
    expect(state.reason).toEqual(expect.stringContaining('/no/such/binary'));
  });

  test('a permanent container is restarted by the engine', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\necho tick\nsleep 0.2\nexit 1\n'), permanent: true });
    await eventually(async () => {
      const out = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${alice}`);
      return (out.text.match(/tick/g) ?? []).length >= 2 ? true : undefined;
    }, 30000, 'a second run');
    const res = await system.http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body.permanent).toBe(true);
    await system.http().delete(`/v1/container/${id}`).set('Authorization', `JWT ${alice}`).expect(204);
  });

  test('a running container reports running/active, and follow streams until exit', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\necho start\nsleep 1\necho end\n') });
    const state = await waitForStatus(alice, id, ['running']);
    expect(state).toMatchObject({ fleet_state: { loadState: 'loaded', activeState: 'active', subState: 'running' }, docker_state: { Running: true } });
    const followed = await system.http().get(`/v1/container/${id}/stdout?follow=true`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(followed.text).toBe('start\nend\n');
  });

  test('state is {} for docker_state and a status of lost when the engine lost the container', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\necho x\n') });
    await waitForStatus(alice, id, ['exited']);
    await new Docker().getContainer(`boatload-${id}`).remove({ force: true });
    const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${alice}`).expect(200);
    expect(res.body.docker_state).toEqual({});
    expect(res.body.status).toBe('lost');
    await system.http().delete(`/v1/container/${id}`).set('Authorization', `JWT ${alice}`).expect(204);
  });
});

describe('bad input gets a clear 4xx and leaves nothing behind', () => {
  async function engineContainers(): Promise<number> {
    return (await new Docker().listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } })).length;
  }

  test.each([
    ['malformed base64', { script: 'not*base64!' }, 400, { script: ['The script must be valid base64.'] }],
    ['a script without #!', { script: b64('echo hi\n') }, 400, { script: [expect.stringContaining('#!')] }],
    ['an unknown image', { image_name: 'no/such-image', script: b64('#!/bin/sh\n') }, 400, { image_name: [expect.stringContaining('not present')] }],
    ['a bad image name', { image_name: 'UPPER;rm -rf', script: b64('#!/bin/sh\n') }, 400, { image_name: [expect.any(String)] }],
    ['a wrong type', { script: 42 }, 400, { script: [expect.any(String)] }],
    ['permanent as a string', { permanent: 'yes' }, 400, { permanent: [expect.any(String)] }],
    ['an unknown field', { scirpt: b64('#!/bin/sh\n') }, 400, { scirpt: ['Unknown field.'] }],
    ['env with a bad name', { env: { 'A-B': 'x' } }, 400, { env: [expect.any(String)] }],
    ['shell operators in args', { container_args: 'a; rm -rf /' }, 400, { container_args: [expect.stringContaining('not allowed')] }],
    ['datapath without dataurl', { datapath: '/data' }, 400, { dataurl: [expect.any(String)] }],
    ['a relative datapath', { dataurl: 'http://127.0.0.1:1/x', datapath: 'data' }, 400, { datapath: [expect.any(String)] }],
    ['a scripturl that is not http', { scripturl: 'file:///etc/passwd' }, 400, { scripturl: [expect.any(String)] }],
    ['script and scripturl together', { script: b64('#!/bin/sh\n'), scripturl: 'http://127.0.0.1:1/s' }, 400, { scripturl: [expect.any(String)] }],
    ['a JSON array body', [1, 2], 400, { non_field_errors: [expect.any(String)] }],
  ])('%s', async (_name, body, status, expected) => {
    const before = await engineContainers();
    const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).send(body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual(expected);
    expect(await engineContainers()).toBe(before);
  });

  test('an oversized script is a 413 (JSON and multipart)', async () => {
    const big = '#!/bin/sh\n' + 'x'.repeat(1024 * 1024);
    const json = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).send({ script: b64(big) });
    expect(json.status).toBe(413);
    expect(json.body.detail).toEqual(expect.any(String));
    const multipart = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).attach('script', Buffer.from(big), 's.sh');
    expect(multipart.status).toBe(413);
  });

  test('malformed JSON is a 400 and an unknown content type a 415', async () => {
    const bad = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).set('Content-Type', 'application/json').send('{"script": ');
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/JSON parse error/);
    const text = await system.http().post('/v1/container/').set('Authorization', `JWT ${alice}`).set('Content-Type', 'text/plain').send('hello');
    expect(text.status).toBe(415);
  });

  test('ids that are not ours or not ids are 404s', async () => {
    await system.http().get('/v1/container/0123456789abcdef0123456789abcdef/').set('Authorization', `JWT ${alice}`).expect(404);
    await system.http().get('/v1/container/../../etc/').set('Authorization', `JWT ${alice}`).expect(404);
  });

  test('without auth every route is a 401 in DRF shape', async () => {
    const res = await system.http().get('/v1/container/').expect(401);
    expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    await system.http().post('/v1/container/').send({}).expect(401);
    await system.http().get('/v1/anything-else').expect(401);
  });
});

describe('an API restart', () => {
  test('keeps containers, their state and their output; a running one keeps running', async () => {
    const id = await create(alice, { script: b64('#!/bin/sh\necho before\nsleep 3\necho after\n') });
    await waitForStatus(alice, id, ['running']);
    await system.restartApi();
    const token = (await system.http().post('/api-token-auth/').send({ username: 'alice', password: 'correct-horse-battery' }).expect(200)).body.token;
    const res = await system.http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${token}`).expect(200);
    expect(['running', 'exited']).toContain(res.body.status);
    const state = await waitForStatus(token, id, ['exited']);
    expect(state).toMatchObject({ docker_state: { ExitCode: 0 } });
    const out = await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${token}`).expect(200);
    expect(out.text).toBe('before\nafter\n');
  });
});
