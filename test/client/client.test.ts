/** BoatLoadClient against the real API (listening on a real port) and the real engine. */
import { gunzipSync } from 'node:zlib';
import { BoatLoadApiError, BoatLoadClient, BoatLoadConnectionError, type OutputEvent } from '../../client';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let url: string;
let client: BoatLoadClient;

beforeAll(async () => {
  system = await startSandboxSystem();
  url = await system.listen();
  client = new BoatLoadClient({ url });
  await client.login('admin', 'admin');
});

afterAll(async () => {
  await system.close();
}, 180000);

async function bytesOf(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  return (await bytesOf(body)).toString('utf8');
}

test('login, verify and me; a wrong password is a typed error with the API body', async () => {
  expect(await client.me()).toMatchObject({ username: 'admin', is_admin: true, auth: 'jwt' });
  const fresh = new BoatLoadClient({ url });
  const token = await fresh.login('admin', 'admin');
  expect(await fresh.verify(token)).toBe(token);
  const refused = await new BoatLoadClient({ url }).login('admin', 'nope').catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(BoatLoadApiError);
  expect(refused).toMatchObject({ status: 400, message: 'Unable to log in with provided credentials.', body: { non_field_errors: ['Unable to log in with provided credentials.'] } });
  const anonymous = await new BoatLoadClient({ url, token: 'junk' }).listContainers().catch((err: unknown) => err);
  expect(anonymous).toMatchObject({ status: 401 });
});

test('a server that is not there is a connection error', async () => {
  const err = await new BoatLoadClient({ url: 'http://127.0.0.1:1' }).me().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BoatLoadConnectionError);
  expect((err as Error).message).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:1/);
});

test('a script buffer runs; its events, output, files and archive stream back', async () => {
  const script = Buffer.from('#!/bin/sh\necho out $1\necho err >&2\nprintf "abc" > /tmp/f.txt\nexit 5\n');
  const created = await client.createContainer({ script, scriptname: 'job.sh', container_args: ['x'] });
  expect(created).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), scriptname: 'job.sh' });
  const events: OutputEvent[] = [];
  for await (const event of client.events(created.id)) events.push(event);
  expect(events.filter((e) => e.event !== 'exit').map((e) => `${e.event}:${e.data}`).sort()).toEqual(['stderr:err', 'stdout:out x']);
  const exit = events.at(-1) as OutputEvent;
  expect(exit.event).toBe('exit');
  expect(BoatLoadClient.exitInfo(exit).exit_code).toBe(5);

  expect(await text((await client.stdout(created.id, { stream: 'stdout' })).body)).toBe('out x\n');
  // tail counts the lines of both streams before stream filters them (README).
  expect(await text((await client.stdout(created.id, { follow: true, tail: 2, stream: 'stderr' })).body)).toBe('err\n');
  const file = await client.file(created.id, '/tmp/f.txt');
  expect(file.length).toBe(3);
  expect(await text(file.body)).toBe('abc');
  const listed = await client.files(created.id);
  const entry = listed.find((f) => f.path === '/tmp/f.txt');
  expect(entry).toMatchObject({ size: 3 });
  expect(await text((await client.fileByNumber(created.id, entry?.num ?? -1)).body)).toBe('abc');
  const gz = await client.archive(created.id, { gzip: true });
  const bytes = gunzipSync(await bytesOf(gz.body));
  expect(gz.headers['content-type']).toBe('application/gzip');
  // A tar: the ustar magic at offset 257 of the first header, and the file's name in it.
  expect(bytes.subarray(257, 262).toString()).toBe('ustar');
  expect(bytes.toString('latin1')).toContain('tmp/f.txt');
  expect((await client.changes(created.id)).some((c) => c.Path === '/tmp/f.txt')).toBe(true);
  expect(await client.script(created.id)).toEqual(script);
  expect((await client.state(created.id)).status).toBe('exited');

  const missing = await client.file(created.id, '/tmp/none').catch((err: unknown) => err);
  expect(missing).toBeInstanceOf(BoatLoadApiError);
  expect(missing).toMatchObject({ status: 404 });
  await client.deleteContainer(created.id);
  expect(await client.getContainer(created.id).catch((err: unknown) => (err as BoatLoadApiError).status)).toBe(404);
});

test('exec, readiness, metrics, terminal and lifecycle operations on a running container', async () => {
  const created = await client.createContainer({ container_args: ['sleep', '300'] }, { waitReady: true, timeoutSeconds: 30 });
  expect(created.readiness?.status).toBe('ready');
  expect(await client.exec(created.id, { cmd: ['sh', '-c', 'echo $A; exit 2'], env: { A: 'b' } })).toMatchObject({ exit_code: 2, stdout: 'b\n' });
  expect((await client.ready(created.id)).readiness?.status).toBe('ready');
  expect(await client.metrics(created.id)).toHaveProperty('cpu_percent');

  const socket = await client.terminal(created.id, { cols: 80, rows: 24 });
  const exitCode = await new Promise<number>((resolve) => {
    let code = -1;
    socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string; exit_code?: number };
      if (message.type === 'exit') code = message.exit_code ?? -1;
    });
    socket.on('close', () => resolve(code));
    socket.send(JSON.stringify({ type: 'stdin', data: 'exit 7\n' }));
  });
  expect(exitCode).toBe(7);

  const snapshot = await client.waitOperation((await client.snapshot(created.id, { name: 'sdk' })).id);
  expect(snapshot).toMatchObject({ status: 'succeeded', result: { snapshot: { name: 'sdk' } } });
  const snapshotId = (snapshot.result as { snapshot: { id: string } }).snapshot.id;
  expect((await client.listSnapshots()).map((s) => s.id)).toContain(snapshotId);
  await client.deleteSnapshot(snapshotId);

  const stop = await client.stop(created.id);
  expect(stop).toMatchObject({ kind: 'stop', target: `/v1/container/${created.id}/` });
  expect(await client.waitOperation(stop.id)).toMatchObject({ status: 'succeeded' });
  expect((await client.listOperations()).map((o) => o.id)).toContain(stop.id);
  const refused = await client.terminal(created.id).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(BoatLoadApiError);
  expect(refused).toMatchObject({ status: 409 });
  await client.deleteContainer(created.id);
});

test('functions: stdin given as bytes reaches the script; the capacity is typed', async () => {
  await client.createFunction({ name: 'client-cat', script: Buffer.from('#!/bin/sh\ncat\n'), network: 'none', reuse: false });
  try {
    const result = await client.invokeFunction('client-cat', { stdin: Buffer.from('bytes\n\u00e9') });
    expect(result).toMatchObject({ exit_code: 0, stdout: 'bytes\n\u00e9' });
    const info = await client.getFunction('client-cat');
    expect(info).toMatchObject({ reuse: false, capacity: { in_flight: 0 } });
    expect(['cold', 'warming', 'warm']).toContain(info.capacity.state);
  } finally {
    await client.deleteFunction('client-cat');
  }
});

test('functions: create, invoke inline and in the background, read, delete; an unknown one is a typed 404', async () => {
  const created = await client.createFunction({ name: 'client-echo', script: Buffer.from('#!/bin/sh\necho "fn $1"\n'), timeout: 30 });
  expect(created).toMatchObject({ name: 'client-echo', has_script: true, timeout: 30 });
  try {
    const result = await client.invokeFunction('client-echo', { args: ['inline'] });
    expect(result).toMatchObject({ exit_code: 0, stdout: 'fn inline\n', timed_out: false });
    const operation = await client.invokeFunctionLater('client-echo', { args: ['later'] });
    const done = await client.waitOperation(operation.id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ exit_code: 0, stdout: 'fn later\n' });
    expect((await client.listFunctions()).map((f) => f.name)).toContain('client-echo');
    expect((await client.getFunction('client-echo')).last_invocations.length).toBeGreaterThanOrEqual(1);
  } finally {
    await client.deleteFunction('client-echo');
  }
  const missing = await client.getFunction('client-echo').catch((err: unknown) => err);
  expect(missing).toBeInstanceOf(BoatLoadApiError);
  expect((missing as BoatLoadApiError).status).toBe(404);
});

test('volumes and users (admin)', async () => {
  const volume = await client.createVolume({ name: 'sdk-volume' });
  expect((await client.getVolume(volume.id)).name).toBe('sdk-volume');
  expect((await client.listVolumes()).map((v) => v.id)).toContain(volume.id);
  await client.deleteVolume(volume.id);
  const user = await client.createUser({ username: 'sdk-user', password: 'a-long-password' });
  expect(user).toMatchObject({ username: 'sdk-user', is_admin: false });
  expect((await client.listUsers()).map((u) => u.username)).toContain('sdk-user');
  await client.deleteUser('sdk-user');
});

test('units: put, list, state, get, delete (fleet errors typed too)', async () => {
  const name = 'sdk-hello.service';
  await client.putUnit(name, { options: [{ section: 'Service', name: 'ExecStart', value: '/usr/bin/docker run --rm boatload/base:latest sleep 120' }], desiredState: 'launched' });
  expect((await client.listUnits()).find((u) => u.name === name)).toMatchObject({ desiredState: 'launched', currentState: 'launched' });
  expect((await client.unitStates({ unitName: name }))[0]).toMatchObject({ name, systemdActiveState: 'active' });
  expect((await client.getUnit(name)).options[0]).toMatchObject({ section: 'Service', name: 'ExecStart' });
  expect((await client.listMachines()).length).toBeGreaterThan(0);
  await client.deleteUnit(name);
  const gone = await client.getUnit(name).catch((err: unknown) => err);
  expect(gone).toBeInstanceOf(BoatLoadApiError);
  expect(gone).toMatchObject({ status: 404, body: { error: { code: 404 } } });
});
