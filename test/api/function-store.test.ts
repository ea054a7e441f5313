/** The functions table: added to an existing store by its migration, names unique per owner. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_VERSION, storeVersionAfter } from '../../api/store/database';
import { FunctionRepository, type FunctionDefinition } from '../../api/store/functions';
import { SqliteDatabase } from '../../api/store/sqlite-database';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'boatload-function-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const definition: FunctionDefinition = { imageName: '', imageTag: '', script: null, cmd: ['true'], env: { A: 'b' }, timeoutSeconds: 30, memory: null, cpus: null, minWarm: 0, maxWarm: 1, maxConcurrency: 4, idleTimeoutSeconds: 300 };

test('a store from before functions gets the table; functions are unique per owner and survive a reopen', async () => {
  const path = join(dir, 'old.sqlite3');
  const old = openDatabase(path, { version: storeVersionAfter('CREATE TABLE functions') - 1 });
  expect(old.prepare("SELECT name FROM sqlite_master WHERE name = 'functions'").get()).toBeUndefined();
  old.close();
  const db = openDatabase(path);
  try {
    expect(db.pragma('user_version', { simple: true })).toBe(STORE_VERSION);
    const functions = new FunctionRepository(new SqliteDatabase(db));
    const created = new Date().toISOString();
    expect(await functions.insert({ owner: 'alice', name: 'f', definition, created })).toBe(true);
    expect(await functions.insert({ owner: 'alice', name: 'f', definition, created })).toBe(false);
    expect(await functions.insert({ owner: 'bob', name: 'f', definition, created })).toBe(true);
  } finally {
    db.close();
  }
  const again = openDatabase(path);
  try {
    const functions = new FunctionRepository(new SqliteDatabase(again));
    expect(await functions.find('alice', 'f')).toEqual({ owner: 'alice', name: 'f', definition, created: expect.any(String) });
    expect((await functions.list('bob')).map((f) => f.name)).toEqual(['f']);
    expect(await functions.delete('alice', 'f')).toBe(true);
    expect(await functions.find('alice', 'f')).toBeUndefined();
  } finally {
    again.close();
  }
});
