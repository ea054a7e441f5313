/** The snapshot records' command columns, and the upgrade that fills them for older snapshots. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_VERSION, storeVersionAfter } from '../../api/store/database';
import { ContainerRepository } from '../../api/store/containers';
import { SnapshotRepository } from '../../api/store/snapshots';
import { SqliteDatabase } from '../../api/store/sqlite-database';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'boatload-snapshot-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request = { image_name: 'boatload/base', image_tag: 'latest', scriptname: 'run.sh', scripturl: null, dataurl: null, datapath: null, container_args: ['a', 'b c'], env: {}, permanent: true };
const snapshot = { owner: 'alice', containerId: 'c'.repeat(32), name: null, image: 'boatload/snapshot:x', imageId: 'sha256:x', size: 1, machineId: null };

test('a snapshot keeps its source container\'s script, script name and arguments', async () => {
  const db = openDatabase(join(dir, 'new.sqlite3'));
  try {
    const snapshots = new SnapshotRepository(new SqliteDatabase(db));
    await snapshots.insert({ ...snapshot, id: 'a'.repeat(32), script: Buffer.from('#!/bin/sh\n'), scriptname: 'run.sh', args: ['x'] });
    await snapshots.insert({ ...snapshot, id: 'b'.repeat(32), script: null, scriptname: null, args: [] });
    expect(await snapshots.find('a'.repeat(32))).toMatchObject({ scriptname: 'run.sh', args: ['x'] });
    expect((await snapshots.script('a'.repeat(32)))?.toString()).toBe('#!/bin/sh\n');
    expect(await snapshots.find('b'.repeat(32))).toMatchObject({ scriptname: null, args: [] });
    expect(await snapshots.script('b'.repeat(32))).toBeNull();
  } finally {
    db.close();
  }
});

test('snapshots taken before the upgrade get the command of their source container, if it still exists', async () => {
  const path = join(dir, 'old.sqlite3');
  const version = STORE_VERSION;
  // A store from before the command columns.
  const old = openDatabase(path, { version: storeVersionAfter('ALTER TABLE snapshots ADD COLUMN script') - 1 });
  await new ContainerRepository(new SqliteDatabase(old)).insert({ id: snapshot.containerId, owner: 'alice', image: 'boatload/base:latest', unitName: 'c.service', request }, Buffer.from('#!/bin/sh\necho hi\n'));
  const insert = old.prepare('INSERT INTO snapshots (id, owner, container_id, name, image, image_id, size, machine_id, created) VALUES (?, ?, ?, NULL, ?, ?, 1, NULL, ?)');
  insert.run('a'.repeat(32), 'alice', snapshot.containerId, snapshot.image, snapshot.imageId, new Date().toISOString());
  insert.run('b'.repeat(32), 'alice', 'd'.repeat(32), snapshot.image, snapshot.imageId, new Date().toISOString());
  old.close();

  const upgraded = openDatabase(path);
  try {
    expect(upgraded.pragma('user_version', { simple: true })).toBe(version);
    const snapshots = new SnapshotRepository(new SqliteDatabase(upgraded));
    expect(await snapshots.find('a'.repeat(32))).toMatchObject({ scriptname: 'run.sh', args: ['a', 'b c'] });
    expect((await snapshots.script('a'.repeat(32)))?.toString()).toBe('#!/bin/sh\necho hi\n');
    // Its source is gone: nothing to recover (the image's own command runs, as before).
    expect(await snapshots.find('b'.repeat(32))).toMatchObject({ scriptname: null, args: [] });
    expect(await snapshots.script('b'.repeat(32))).toBeNull();
  } finally {
    upgraded.close();
  }
});
