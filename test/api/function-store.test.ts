/** The functions table: added to an existing store by its migration, names unique per owner. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_VERSION, storeVersionAfter } from '../../api/store/database';
import { FunctionRepository, type FunctionDefinition } from '../../api/store/functions';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'boatload-function-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const definition: FunctionDefinition = { imageName: '', imageTag: '', script: null, cmd: ['true'], env: { A: 'b' }, timeoutSeconds: 30, memory: null, cpus: null, minWarm: 0, maxWarm: 1, maxConcurrency: 4, idleTimeoutSeconds: 300 };

test('a store from before functions gets the table; functions are unique per owner and survive a reopen', () => {
  const path = join(dir, 'old.sqlite3');
  const old = openDatabase(path, { version: storeVersionAfter('CREATE TABLE functions') - 1 });
  expect(old.prepare("SELECT name FROM sqlite_master WHERE name = 'functions'").get()).toBeUndefined();
  old.close();
  const db = openDatabase(path);
  try {
    expect(db.pragma('user_version', { simple: true })).toBe(STORE_VERSION);
    const functions = new FunctionRepository(db);
    const created = new Date().toISOString();
    expect(functions.insert({ owner: 'alice', name: 'f', definition, created })).toBe(true);
    expect(functions.insert({ owner: 'alice', name: 'f', definition, created })).toBe(false);
    expect(functions.insert({ owner: 'bob', name: 'f', definition, created })).toBe(true);
  } finally {
    db.close();
  }
  const again = openDatabase(path);
  try {
    const functions = new FunctionRepository(again);
    expect(functions.find('alice', 'f')).toEqual({ owner: 'alice', name: 'f', definition, created: expect.any(String) });
    expect(functions.list('bob').map((f) => f.name)).toEqual(['f']);
    expect(functions.delete('alice', 'f')).toBe(true);
    expect(functions.find('alice', 'f')).toBeUndefined();
  } finally {
    again.close();
  }
});
