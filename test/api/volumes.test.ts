/** Named volumes with owners, mounted at create, on a real engine. */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { b64 } from '../support/system';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let alice: string;
let bob: string;
let admin: string;
const agent = new Agent({ keepAlive: false });
const docker = new Docker({ agent } as Docker.DockerOptions);

beforeAll(async () => {
  system = await startSandboxSystem();
  admin = await system.token('admin');
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  await system.close();
  agent.destroy();
}, 180000);

async function stdoutOf(token: string, id: string): Promise<string> {
  return (await system.http().get(`/v1/container/${id}/stdout?follow=true&stream=stdout`).set(...system.auth(token)).expect(200)).text;
}

describe('volumes', () => {
  let volume: { id: string; name: string; engine_name: string };

  beforeAll(async () => {
    const res = await system.http().post('/v1/volumes/').set(...system.auth(alice)).send({ name: 'work' }).expect(201);
    volume = res.body;
  });

  test('POST makes an engine volume boatload-vol-<id>, labelled with its owner', async () => {
    expect(volume).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'work', owner: 'alice', engine_name: `boatload-vol-${volume.id}`, used_by: [] });
    const info = await docker.getVolume(volume.engine_name).inspect();
    expect(info.Labels).toMatchObject({ 'boatload.volume': volume.id, 'boatload.owner': 'alice', 'boatload.instance': system.api.instanceId });
    expect((await system.http().get('/v1/volumes').set(...system.auth(alice)).expect(200)).body).toEqual([expect.objectContaining({ id: volume.id })]);
    expect((await system.http().get(`/v1/volumes/${volume.id}/`).set(...system.auth(alice)).expect(200)).body.name).toBe('work');
  });

  test('names are unique per owner; another user may use the same name; bad names are 400s', async () => {
    expect((await system.http().post('/v1/volumes').set(...system.auth(alice)).send({ name: 'work' }).expect(409)).body.detail).toMatch(/already have/);
    const bobs = await system.http().post('/v1/volumes').set(...system.auth(bob)).send({ name: 'work' }).expect(201);
    expect(bobs.body.id).not.toBe(volume.id);
    expect((await system.http().post('/v1/volumes').set(...system.auth(alice)).send({ name: '../x' }).expect(400)).body.name).toBeDefined();
    await system.http().post('/v1/volumes').set(...system.auth(alice)).send({}).expect(400);
  });

  test('files in a volume outlive two containers', async () => {
    const mount = [{ name: 'work', path: '/data' }];
    const first = await system.create(alice, { script: b64('#!/bin/sh\necho first > /data/log.txt\n'), volumes: mount }, 'wait=ready');
    expect((await system.http().get(`/v1/container/${first}`).set(...system.auth(alice))).body.volumes).toEqual([{ volume: volume.id, path: '/data', readonly: false }]);
    await system.http().delete(`/v1/container/${first}`).set(...system.auth(alice)).expect(204);

    const second = await system.create(alice, { script: b64('#!/bin/sh\necho second >> /data/log.txt\ncat /data/log.txt\n'), volumes: mount }, 'wait=ready');
    expect(await stdoutOf(alice, second)).toBe('first\nsecond\n');
    await system.http().delete(`/v1/container/${second}`).set(...system.auth(alice)).expect(204);

    // By id too, read-only this time: reading works, writing does not.
    const third = await system.create(alice, { script: b64('#!/bin/sh\ncat /data/log.txt\necho third >> /data/log.txt || echo read-only\n'), volumes: [{ name: volume.id, path: '/data', readonly: true }] }, 'wait=ready');
    expect(await stdoutOf(alice, third)).toBe('first\nsecond\nread-only\n');
    await system.http().delete(`/v1/container/${third}`).set(...system.auth(alice)).expect(204);
  });

  test('bad mounts are 400s naming the field', async () => {
    const cases: unknown[] = [
      [{ name: 'nope', path: '/data' }],
      [{ name: 'work', path: 'relative' }],
      [{ name: 'work', path: '/proc/x' }],
      [{ name: 'work', path: '/' }],
      [{ name: 'work', path: '/a' }, { name: 'work', path: '/a/' }],
      [{ name: 'work', path: '/a', mode: 'rw' }],
    ];
    for (const volumes of cases) {
      const res = await system.http().post('/v1/container/').set(...system.auth(alice)).send({ container_args: ['true'], volumes }).expect(400);
      expect(res.body.volumes).toBeDefined();
    }
    // Someone else's volume cannot be mounted, by name or by id.
    const byId = await system.http().post('/v1/container/').set(...system.auth(bob)).send({ container_args: ['true'], volumes: [{ name: volume.id, path: '/data' }] }).expect(400);
    expect(byId.body).toEqual({ volumes: [`There is no volume named "${volume.id}".`] });
  });

  test("someone else's volume is a 404 for every route; an admin sees it", async () => {
    await system.http().get(`/v1/volumes/${volume.id}`).set(...system.auth(bob)).expect(404);
    await system.http().delete(`/v1/volumes/${volume.id}`).set(...system.auth(bob)).expect(404);
    expect((await system.http().get('/v1/volumes').set(...system.auth(bob))).body.some((v: { id: string }) => v.id === volume.id)).toBe(false);
    await system.http().get(`/v1/volumes/${volume.id}`).set(...system.auth(admin)).expect(200);
    expect((await system.http().get('/v1/volumes').set(...system.auth(admin))).body.length).toBeGreaterThanOrEqual(2);
    await system.http().get('/v1/volumes/not-an-id').set(...system.auth(alice)).expect(404);
  });

  test('deleting a volume in use is a 409; once unused it goes, files and all', async () => {
    const user = await system.create(alice, { container_args: ['sleep', '600'], volumes: [{ name: 'work', path: '/data' }] });
    expect((await system.http().get(`/v1/volumes/${volume.id}`).set(...system.auth(alice))).body.used_by).toEqual([user]);
    const busy = await system.http().delete(`/v1/volumes/${volume.id}`).set(...system.auth(alice)).expect(409);
    expect(busy.body.detail).toContain(user);
    await system.http().delete(`/v1/container/${user}`).set(...system.auth(alice)).expect(204);
    await system.http().delete(`/v1/volumes/${volume.id}`).set(...system.auth(alice)).expect(204);
    await system.http().get(`/v1/volumes/${volume.id}`).set(...system.auth(alice)).expect(404);
    await expect(docker.getVolume(volume.engine_name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test("deleting a user deletes their volumes and snapshots, engine objects included", async () => {
    const carol = await system.token('carol');
    const own = (await system.http().post('/v1/volumes').set(...system.auth(carol)).send({ name: 'scratch' }).expect(201)).body as { engine_name: string };
    const id = await system.create(carol, { container_args: ['sleep', '600'] }, 'wait=ready');
    const op = (await system.http().post(`/v1/container/${id}/snapshot`).set(...system.auth(carol)).send({}).expect(202)).body.operation.id as string;
    const snapshot = ((await system.operation(carol, op)).result as { snapshot: { image: string } }).snapshot;
    await system.http().delete('/v1/users/carol/').set(...system.auth(admin)).expect(204);
    await expect(docker.getVolume(own.engine_name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getImage(snapshot.image).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
