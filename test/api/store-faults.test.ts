/**
 * The store's disk fills up, or its filesystem turns read-only: writes answer a clear 503, reads
 * keep working, /health says so, nothing is half-written, and everything works again once the disk
 * does. Uses a real, tiny tmpfs and a real ext4 image (mounting needs root, as `npm test` runs in CI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createExt4Image, type Ext4Image } from '../support/ext4-image';
import { eventually, startSystem, type TestSystem, sqliteDb } from '../support/system';

let system: TestSystem;
let token: string;
let mountPoint: string;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('store-fault tests mount a tmpfs and must run as root (npm test in CI does)');
  mountPoint = mkdtempSync(join(tmpdir(), 'boatload-store-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
  system = await startSystem({ BOATLOAD_DB_PATH: join(mountPoint, 'store.sqlite3') });
  token = await system.token('admin');
});

afterAll(async () => {
  await system?.close();
  execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

async function ourContainers(): Promise<number> {
  return (await new Docker().listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } })).length;
}

function fillDisk(): void {
  try {
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(8 * 1024 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

test('a full disk: creates are 503 with nothing left behind, reads work, and it recovers', async () => {
  const before = (await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200)).body.length;
  const containersBefore = await ourContainers();
  fillDisk();
  const refused = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ container_args: ['true'] }).expect(503);
  expect(refused.body.detail).toMatch(/store is unavailable \(SQLITE_FULL/);
  const health = await system.http().get('/health').set('Authorization', `JWT ${token}`).expect(503);
  expect(health.body.store).toMatch(/unavailable/);
  expect((await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200)).body.length).toBe(before);
  expect(await ourContainers()).toBe(containersBefore);
  rmSync(join(mountPoint, 'filler'));
  await system.http().get('/health').expect(200);
  await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ container_args: ['true'] }).expect(201);
  const integrity = sqliteDb(system.api).prepare('PRAGMA integrity_check').get() as { integrity_check: string };
  expect(integrity.integrity_check).toBe('ok');
});

describe('the store filesystem turns read-only while the API runs', () => {
  // A real ext4 with errors=remount-ro, made to fail as a bad disk does (see support/ext4-image).
  let image: Ext4Image;
  let ro: TestSystem;
  let roToken: string;

  beforeAll(async () => {
    image = createExt4Image({ sizeMiB: 32 });
    ro = await startSystem({ BOATLOAD_DB_PATH: join(image.mountPoint, 'store.sqlite3') });
    roToken = await ro.token('admin');
  });

  afterAll(async () => {
    await ro?.close();
    image?.destroy();
  });

  const get = (path: string) => ro.http().get(path).set('Authorization', `JWT ${roToken}`);

  test('writes are 503, reads work, and after a repair every acknowledged record is intact', async () => {
    const ids: string[] = [];
    for (const word of ['one', 'two', 'three']) {
      const res = await ro.http().post('/v1/container/').set('Authorization', `JWT ${roToken}`).send({ container_args: ['echo', `kept-${word}`] }).expect(201);
      ids.push(res.body.id as string);
    }
    for (const id of ids) {
      await eventually(async () => ((await get(`/v1/container/${id}/state`)).body.status === 'exited' ? true : undefined), 20000, `${id} exited`);
    }
    const engineContainers = async (): Promise<number> =>
      (await new Docker().listContainers({ all: true, filters: { label: [`boatload.instance=${ro.api.instanceId}`] } })).length;
    const containersBefore = await engineContainers();

    image.failReadOnly();
    expect(image.isReadOnly()).toBe(true);

    const refused = await ro.http().post('/v1/container/').set('Authorization', `JWT ${roToken}`).send({ container_args: ['true'] }).expect(503);
    expect(refused.body).toEqual({ detail: expect.stringMatching(/^The store is unavailable \(SQLITE_(IOERR|READONLY)\w*\); nothing was changed/) });
    const deleted = await ro.http().delete(`/v1/container/${ids[0]}/`).set('Authorization', `JWT ${roToken}`).expect(503);
    expect(deleted.body.detail).toMatch(/store is unavailable/);
    expect((await ro.http().get('/health').set('Authorization', `JWT ${roToken}`).expect(503)).body.store).toMatch(/unavailable/);
    expect(await engineContainers()).toBe(containersBefore);

    // Reads: the listing, each record and each container's output.
    const listed = (await get('/v1/container/').expect(200)).body as Array<{ id: string }>;
    expect(listed.map((c) => c.id).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      expect((await get(`/v1/container/${id}/`).expect(200)).body.id).toBe(id);
      expect((await get(`/v1/container/${id}/stdout`).expect(200)).text).toBe(`kept-${['one', 'two', 'three'][i]}\n`);
    }

    await ro.stopApi();
    image.repairAndRemount();
    await ro.startApi();

    const integrity = sqliteDb(ro.api).prepare('PRAGMA integrity_check').get() as { integrity_check: string };
    expect(integrity.integrity_check).toBe('ok');
    const after = (await get('/v1/container/').expect(200)).body as Array<{ id: string; status: string }>;
    expect(after.map((c) => c.id).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      expect((await get(`/v1/container/${id}/stdout`).expect(200)).text).toBe(`kept-${['one', 'two', 'three'][i]}\n`);
    }
    await ro.http().get('/health').expect(200);
    await ro.http().post('/v1/container/').set('Authorization', `JWT ${roToken}`).send({ container_args: ['true'] }).expect(201);
  });
});
