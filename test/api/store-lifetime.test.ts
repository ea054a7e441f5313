/** The store's lifetime step on a store made before it: old containers keep no lifetime. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerRepository } from '../../api/store/containers';
import { openDatabase, STORE_VERSION } from '../../api/store/database';
import { SqliteDatabase } from '../../api/store/sqlite-database';

test('a store from before lifetimes gains expires_at (NULL for its containers); the reaper query uses the partial index', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'boatload-store-lifetime-'));
  try {
    const path = join(dir, 'store.sqlite3');
    // Make the store as the step before would have left it: the lifetime step is step 7.
    const latest = STORE_VERSION;
    const db = openDatabase(path, { version: 6 });
    db.prepare(`INSERT INTO containers (id, owner, image, unit_name, request, script, created, updated) VALUES ('old', 'alice', 'boatload/base:latest', 'old.service', '{"permanent":false}', NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`).run();
    db.close();

    const upgraded = openDatabase(path);
    expect(upgraded.pragma('user_version', { simple: true })).toBe(latest);
    const containers = new ContainerRepository(new SqliteDatabase(upgraded));
    expect((await containers.find('old'))?.expiresAt).toBeNull();
    const plan = upgraded.prepare(`EXPLAIN QUERY PLAN SELECT id FROM containers WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT 100`).all('2030-01-01T00:00:00.000Z') as Array<{ detail: string }>;
    expect(plan.map((row) => row.detail).join('\n')).toMatch(/containers_expiry/);
    const fresh = await containers.insert({ id: 'new', owner: 'alice', image: 'boatload/base:latest', unitName: 'new.service', request: { image_name: 'boatload/base', image_tag: 'latest', scriptname: null, scripturl: null, dataurl: null, datapath: null, container_args: [], env: {}, permanent: false, ttl: 5 } }, null, 5);
    expect(Date.parse(fresh.expiresAt as string) - Date.parse(fresh.created)).toBe(5000);
    expect((await containers.expired(new Date(Date.parse(fresh.created) + 4999), 100)).map((r) => r.id)).toEqual([]);
    expect((await containers.expired(new Date(Date.parse(fresh.created) + 5000), 100)).map((r) => r.id)).toEqual(['new']);
    upgraded.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
