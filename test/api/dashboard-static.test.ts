/**
 * The API serves the built dashboard at /: its files, index.html for client routes, never an API
 * path; a clear 503 while it is not built. Against a stand-in build folder (the real one is made by
 * npm run build:ui; test/ui drives it in a browser).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem, type TestSystem } from '../support/system';

const INDEX = '<!doctype html><title>BoatLoad</title><div id="app"></div>';
let uiDir: string;
let system: TestSystem;

beforeAll(async () => {
  uiDir = mkdtempSync(join(tmpdir(), 'boatload-ui-'));
  mkdirSync(join(uiDir, 'assets'));
  writeFileSync(join(uiDir, 'index.html'), INDEX);
  writeFileSync(join(uiDir, 'assets', 'index-abc123.js'), 'console.log(1);');
  system = await startSystem({ BOATLOAD_UI_DIR: uiDir });
});

afterAll(async () => {
  await system?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

test("/ and the dashboard's pages answer index.html, with a same-origin CSP and no caching", async () => {
  for (const path of ['/', '/containers/abc', '/users', '/units', '/account']) {
    const res = await system.http().get(path).expect(200);
    expect(res.type).toBe('text/html');
    expect(res.text).toBe(INDEX);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
  }
});

test('the bundle is served and cached for good; a missing asset is a 404, not the page', async () => {
  const res = await system.http().get('/assets/index-abc123.js').expect(200);
  expect(res.text).toBe('console.log(1);');
  expect(res.headers['cache-control']).toContain('immutable');
  const missing = await system.http().get('/assets/index-old.js').expect(404);
  expect(missing.type).toBe('application/json');
  expect(missing.body.detail).toMatch(/No route serves/);
  await system.http().get('/favicon.ico').expect(404);
  // A path that is not one of the dashboard's pages is the API's unknown route, not the page.
  for (const path of ['/no-such-page', '/containers/abc/def', '/index.html.bak']) {
    const res = await system.http().get(path).expect(404);
    expect(res.body.detail).toMatch(/No route serves/);
  }
});

test('API paths are never shadowed by the dashboard', async () => {
  const token = await system.token('admin');
  // Unknown API paths still answer the API's JSON refusals, never the page.
  for (const path of ['/v1/nothing-here', '/v1-alpha/x', '/api-token-nothing', '/docs/x', '/health/x']) {
    const res = await system.http().get(path).set('Authorization', `JWT ${token}`);
    expect([401, 403, 404]).toContain(res.status);
    expect(res.type).toBe('application/json');
  }
  const fleet = await system.http().get('/fleet/v1/nothing').set('Authorization', `JWT ${token}`);
  expect(fleet.type).not.toBe('text/html');
  expect((await system.http().get('/health')).type).toBe('application/json');
  // A write to a client route is not the dashboard's either.
  await system.http().post('/containers/abc').expect(404);
});

test('while the dashboard is not built, / answers 503 saying how to build it', async () => {
  rmSync(join(uiDir, 'index.html'));
  try {
    const res = await system.http().get('/').expect(503);
    expect(res.body.detail).toMatch(/not built.*npm run build:ui/);
    await system.http().get('/containers/abc').expect(503);
    await system.http().get('/no-such-page').expect(404);
    // The API is unaffected.
    await system.http().get('/v1/container/').expect(401);
  } finally {
    writeFileSync(join(uiDir, 'index.html'), INDEX);
  }
});
