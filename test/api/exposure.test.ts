/**
 * Default credentials on an exposed port: the API refuses to listen on a non-loopback address while
 * the admin still has the default password. Anonymous GET /health answers only ok or not ok and
 * writes nothing; the detailed report is for admins.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { silentLogger } from '../../common/logger';
import { hashPassword } from '../../api/auth/passwords';
import { loadApiConfig } from '../../api/config';
import { buildApiServer } from '../../api/server';
import { projectRoot } from '../../common/project-root';
import { SATELLITE_SECRET, TEST_PASSWORD_ITERATIONS, startSystem, type TestSystem, sqliteDb } from '../support/system';

describe('start-up with the default admin password', () => {
  const dataDirs: string[] = [];
  afterAll(() => {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  function envFor(extra: Record<string, string>): Record<string, string> {
    const dataDir = mkdtempSync(join(tmpdir(), 'boatload-exposure-'));
    dataDirs.push(dataDir);
    return {
      BOATLOAD_PORT: '0',
      BOATLOAD_DATA_DIR: dataDir,
      BOATLOAD_USERS_FIXTURE: join(projectRoot(), 'data', 'data.json'),
      BOATLOAD_PASSWORD_ITERATIONS: String(TEST_PASSWORD_ITERATIONS),
      // No satellite is needed to decide whether to listen; nothing answers here.
      SATELLITE_URL: 'http://127.0.0.1:9',
      SATELLITE_SECRET,
      BOATLOAD_FLEET_SOCKET: 'off',
      LOG_LEVEL: 'error',
      ...extra,
    };
  }

  test.each([['0.0.0.0'], ['::']])('on %s the API refuses to listen, naming ADMINHASH and npm run hash-password', async (host) => {
    const api = await buildApiServer(loadApiConfig(envFor({ BOATLOAD_HOST: host })), silentLogger);
    try {
      await expect(api.listen()).rejects.toThrow(/ADMINHASH.*npm run hash-password/);
    } finally {
      await api.close();
    }
  });

  test('with ADMINHASH (or ADMINHASH_FILE) of another password it listens on 0.0.0.0; on loopback the default is allowed', async () => {
    const hash = await hashPassword('a-real-admin-password', TEST_PASSWORD_ITERATIONS);
    const hashFile = join(mkdtempSync(join(tmpdir(), 'boatload-hash-')), 'admin.hash');
    dataDirs.push(join(hashFile, '..'));
    writeFileSync(hashFile, `${hash}\n`);
    for (const env of [envFor({ BOATLOAD_HOST: '0.0.0.0', ADMINHASH: hash }), envFor({ BOATLOAD_HOST: '0.0.0.0', ADMINHASH_FILE: hashFile }), envFor({ BOATLOAD_HOST: '127.0.0.1' })]) {
      const api = await buildApiServer(loadApiConfig(env), silentLogger);
      try {
        await api.listen();
      } finally {
        await api.close();
      }
    }
    expect(() => loadApiConfig(envFor({ ADMINHASH_FILE: join(hashFile, 'missing') }))).toThrow(/ADMINHASH_FILE: cannot read .*npm run hash-password/);
  });

  test('the real process stops at start-up with the message (exit code 2)', async () => {
    const env = envFor({ BOATLOAD_HOST: '0.0.0.0' });
    const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'api', 'main.js')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A process that listened instead would never exit: stop it after 20 s and fail.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(killer);
    expect(code).toBe(2);
    expect(stderr).toMatch(/configuration error: refusing to listen on 0\.0\.0\.0 .*default password.*ADMINHASH.*npm run hash-password/);
  });
});

describe('GET /health', () => {
  let system: TestSystem;
  let admin: string;
  beforeAll(async () => {
    system = await startSystem();
    admin = await system.token('admin');
  });
  afterAll(async () => {
    await system.close();
  });

  const changes = (): number => (sqliteDb(system.api).prepare('SELECT total_changes() AS n').get() as { n: number }).n;

  test('anonymous: only {"status": "ok"}, and nothing is written', async () => {
    const before = changes();
    for (let i = 0; i < 5; i++) {
      const res = await system.http().get('/health').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(changes()).toBe(before);
  });

  test('a non-admin gets the anonymous answer; an admin gets the detailed report', async () => {
    const user = await system.token('plain');
    expect((await system.http().get('/health').set('Authorization', `JWT ${user}`).expect(200)).body).toEqual({ status: 'ok' });
    const detailed = await system.http().get('/health').set('Authorization', `JWT ${admin}`).expect(200);
    expect(detailed.body).toMatchObject({ status: 'ok', store: 'ok', engine: 'ok' });
    expect(detailed.body.warnings[0]).toMatch(/default password/);
    const session = request.agent(system.api.app);
    await session.post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    expect((await session.get('/health').expect(200)).body).toMatchObject({ store: 'ok', satellites: expect.any(Object) });
    await system.http().get('/health').set('Authorization', 'JWT not-a-token').expect(401);
  });

  test('anonymous with a satellite down: only {"status": "unavailable"} 503, no URL or error text', async () => {
    await system.stopSatellite();
    try {
      const res = await system.http().get('/health').expect(503);
      expect(res.body).toEqual({ status: 'unavailable' });
      expect(res.text).not.toContain(system.satellite.url);
      const detailed = await system.http().get('/health').set('Authorization', `JWT ${admin}`).expect(503);
      expect(Object.keys(detailed.body.satellites)[0]).toContain(system.satellite.url);
    } finally {
      await system.restartSatellite();
    }
    await system.http().get('/health').expect(200);
  });
});
