/**
 * The API is SIGKILLed during 50 concurrent creates. After a restart every container that was
 * acknowledged (201) is accounted for — running, exited, or in an error state with a reason — and
 * no engine container is left without a record.
 */
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../api/auth/passwords';
import { startApiProcess, type ApiProcess } from '../support/api-process';
import { b64, eventually, removeInstanceContainers, SATELLITE_SECRET, startSatellite, TEST_PASSWORD_ITERATIONS, type SatelliteHandle } from '../support/system';

let satellite: SatelliteHandle;
let dataDir: string;
let env: Record<string, string>;
let api: ApiProcess | null = null;

beforeAll(async () => {
  satellite = await startSatellite();
  dataDir = mkdtempSync(join(tmpdir(), 'boatload-crash-'));
  env = {
    BOATLOAD_DATA_DIR: dataDir,
    ADMINHASH: await hashPassword('admin', TEST_PASSWORD_ITERATIONS),
    SATELLITE_URL: satellite.url,
    SATELLITE_SECRET,
    BOATLOAD_FLEET_SOCKET: 'off',
    BOATLOAD_STATE_SYNC_INTERVAL_MS: '300',
    LOG_LEVEL: 'warn',
  };
});

afterAll(async () => {
  await api?.kill();
  const db = new Database(join(dataDir, 'boatload.sqlite3'), { readonly: true });
  const instance = (db.prepare("SELECT value FROM settings WHERE key = 'instance_id'").get() as { value: string }).value;
  db.close();
  await removeInstanceContainers(instance);
  await satellite.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/api-token-auth/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) });
  return ((await res.json()) as { token: string }).token;
}

test('every acknowledged container survives a SIGKILL of the API, and no engine container is orphaned', async () => {
  api = await startApiProcess(env);
  const token = await login(api.url);
  const acknowledged: string[] = [];
  const crashedApi = api;
  const posts = Array.from({ length: 50 }, async (_, i) => {
    try {
      const res = await fetch(`${crashedApi.url}/v1/container/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `JWT ${token}` },
        body: JSON.stringify({ script: b64(`#!/bin/sh\necho run ${i}\nsleep 2\n`) }),
      });
      if (res.status === 201) {
        acknowledged.push(((await res.json()) as { id: string }).id);
        if (acknowledged.length === 10) void crashedApi.kill('SIGKILL');
      }
    } catch {
      // The connection died with the API: not acknowledged.
    }
  });
  await Promise.all(posts);
  await crashedApi.kill('SIGKILL');
  expect(acknowledged.length).toBeGreaterThanOrEqual(10);
  expect(acknowledged.length).toBeLessThan(50);

  api = await startApiProcess(env);
  const restarted = api;
  const again = await login(restarted.url);
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${restarted.url}${path}`, { headers: { Authorization: `JWT ${again}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  // The start-up reconcile creates and starts what the crash interrupted.
  for (const id of acknowledged) {
    const state = await eventually(async () => {
      const res = await get(`/v1/container/${id}/`);
      expect(res.status).toBe(200);
      return ['running', 'exited', 'error'].includes(res.body.status as string) ? res.body : undefined;
    }, 60000, `container ${id} to be accounted for`);
    if (state.status === 'error') expect(state.reason).toEqual(expect.any(String));
  }
  const db = new Database(join(dataDir, 'boatload.sqlite3'), { readonly: true });
  const instance = (db.prepare("SELECT value FROM settings WHERE key = 'instance_id'").get() as { value: string }).value;
  db.close();
  const engine = await new Docker().listContainers({ all: true, filters: { label: [`boatload.instance=${instance}`] } });
  for (const container of engine) {
    const res = await get(`/v1/container/${container.Labels['boatload.id']}/`);
    expect(res.status).toBe(200);
  }
}, 240000);
