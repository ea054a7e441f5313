/** The functions table and the invocations table: added to an existing store by their migrations, names unique per owner. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_VERSION, storeVersionAfter } from '../../api/store/database';
import { FunctionRepository, type FunctionDefinition } from '../../api/store/functions';
import { FunctionInvocationRepository } from '../../api/store/function-invocations';
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

test('a store from before invocations gets their table; notes are kept to the last ten, slots counted, swept and forgotten', async () => {
  const path = join(dir, 'invocations.sqlite3');
  const old = openDatabase(path, { version: storeVersionAfter('CREATE TABLE function_invocations') - 1 });
  expect(old.prepare("SELECT name FROM sqlite_master WHERE name = 'function_invocations'").get()).toBeUndefined();
  old.close();
  const db = openDatabase(path);
  try {
    const invocations = new FunctionInvocationRepository(new SqliteDatabase(db));
    const t = 1_000_000;
    for (let i = 0; i < 12; i++) {
      expect(await invocations.admit({ id: `i${i}`, owner: 'alice', name: 'f', limit: 1, nowMs: t + i, deadlineMs: t + i + 1000 })).toEqual({ admitted: true });
      // The one slot is taken until it is finished.
      expect(await invocations.admit({ id: `x${i}`, owner: 'alice', name: 'f', limit: 1, nowMs: t + i, deadlineMs: t + i + 1000 })).toEqual({ admitted: false, inFlight: 1 });
      const note = i === 11 ? null : { at: `at${i}`, status: i % 2 ? ('failed' as const) : ('ok' as const), duration_ms: i, cold: i === 0 };
      await invocations.finish({ id: `i${i}`, owner: 'alice', name: 'f', nowMs: t + i + 1, note });
    }
    // The newest ten notes are kept; the row without a note (it failed before it ran) shows nowhere
    // and stays only as the newest mark of the clock.
    const last = await invocations.last('alice', 'f');
    expect(last.map((n) => n.at)).toEqual(['at10', 'at9', 'at8', 'at7', 'at6', 'at5', 'at4', 'at3', 'at2', 'at1']);
    expect(last[0]).toEqual({ at: 'at10', status: 'ok', duration_ms: 10, cold: false });
    expect((db.prepare("SELECT COUNT(*) AS n FROM function_invocations WHERE owner = 'alice'").get() as { n: number }).n).toBe(11);
    expect(await invocations.activityOf('alice', 'f', t + 100)).toEqual({ inFlight: 0, lastActiveMs: t + 12 });
    // Invocations that fail before they run (a quota's 429, say) never push the notes out.
    for (let i = 0; i < 12; i++) {
      await invocations.admit({ id: `q${i}`, owner: 'alice', name: 'f', limit: 1, nowMs: t + 20 + i, deadlineMs: t + 1020 + i });
      await invocations.finish({ id: `q${i}`, owner: 'alice', name: 'f', nowMs: t + 20 + i, note: null });
    }
    expect((await invocations.last('alice', 'f')).map((n) => n.at)).toEqual(last.map((n) => n.at));
    expect((db.prepare("SELECT COUNT(*) AS n FROM function_invocations WHERE owner = 'alice'").get() as { n: number }).n).toBe(11);
    expect(await invocations.activityOf('alice', 'f', t + 100)).toEqual({ inFlight: 0, lastActiveMs: t + 31 });

    // A slot whose replica died: counted until its deadline, then swept into a mark of the clock.
    await invocations.admit({ id: 'lost', owner: 'alice', name: 'g', limit: 1, nowMs: t, deadlineMs: t + 500 });
    expect((await invocations.activity(t + 100, 'alice')).get('alice/g')).toEqual({ inFlight: 1, lastActiveMs: t });
    expect(await invocations.sweep(t + 600)).toBe(1);
    expect(await invocations.activityOf('alice', 'g', t + 600)).toEqual({ inFlight: 0, lastActiveMs: t + 500 });

    await invocations.forget('alice', 'f');
    expect(await invocations.last('alice', 'f')).toEqual([]);
    expect(await invocations.activityOf('alice', 'f', t)).toEqual({ inFlight: 0, lastActiveMs: null });
  } finally {
    db.close();
  }
});
