/**
 * The store's disk fills up: writes answer a clear 503, reads keep working,
 * /health says so, nothing is half-written, and everything works again once the disk does.
 * Uses a real, tiny tmpfs (mounting needs root, as `npm test` runs in CI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startSystem, type TestSystem } from '../support/system';

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
  const health = await system.http().get('/health').expect(503);
  expect(health.body.store).toMatch(/unavailable/);
  expect((await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200)).body.length).toBe(before);
  expect(await ourContainers()).toBe(containersBefore);
  rmSync(join(mountPoint, 'filler'));
  await system.http().get('/health').expect(200);
  await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ container_args: ['true'] }).expect(201);
  const integrity = system.api.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string };
  expect(integrity.integrity_check).toBe('ok');
});
