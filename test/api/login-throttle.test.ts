/**
 * Password guessing is throttled per username and per address, with Retry-After; attempts are
 * counted before hashing (parallel guesses cannot slip through), counts live in the store (a
 * restart keeps them) and flooding other keys evicts nothing.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientNetwork, LoginThrottle } from '../../api/auth/login-throttle';
import { pbkdf2Hasher, type PasswordHasher } from '../../api/auth/passwords';
import { openDatabase } from '../../api/store/database';
import { LoginFailureRepository } from '../../api/store/login-failures';
import { SqliteDatabase } from '../../api/store/sqlite-database';
import { PASSWORD, startSystem, type TestSystem } from '../support/system';

function throttleOn(store: LoginFailureRepository, options: { maxFailuresPerUser: number; maxFailuresPerAddress: number; now?: () => number }): LoginThrottle {
  return new LoginThrottle({ windowSeconds: 60, store, ...options });
}

describe('LoginThrottle', () => {
  test('per user, per address, and the window moves on', async () => {
    let now = 0;
    const throttle = throttleOn(new LoginFailureRepository(new SqliteDatabase(openDatabase(':memory:'))), { maxFailuresPerUser: 3, maxFailuresPerAddress: 5, now: () => now });
    for (let i = 0; i < 3; i++) await throttle.reserve('ann', '1.1.1.1');
    await expect(throttle.reserve('ann', '2.2.2.2')).rejects.toThrow(/Too many failed login attempts/);
    await throttle.reserve('bob', '1.1.1.1');
    await throttle.reserve('cid', '1.1.1.1');
    await expect(throttle.reserve('dan', '1.1.1.1')).rejects.toThrow(/try again in 60 seconds/);
    now += 61_000;
    await expect(throttle.reserve('ann', '1.1.1.1')).resolves.toBeUndefined();
  });

  test('a success clears the user count', async () => {
    const throttle = throttleOn(new LoginFailureRepository(new SqliteDatabase(openDatabase(':memory:'))), { maxFailuresPerUser: 2, maxFailuresPerAddress: 100 });
    await throttle.reserve('ann', 'a');
    await throttle.reserve('ann', 'a');
    await throttle.succeeded('ann', 'a');
    await throttle.reserve('ann', 'a');
    await expect(throttle.reserve('ann', 'a')).resolves.toBeUndefined();
  });

  test('a throttled attempt counts nothing; a success gives the address its attempt back', async () => {
    const store = new LoginFailureRepository(new SqliteDatabase(openDatabase(':memory:')));
    const throttle = throttleOn(store, { maxFailuresPerUser: 1, maxFailuresPerAddress: 2 });
    await throttle.reserve('ann', 'a');
    await expect(throttle.reserve('ann', 'a')).rejects.toThrow(/Too many/);
    await throttle.reserve('bob', 'a');
    await throttle.succeeded('bob', 'a');
    await expect(throttle.reserve('cid', 'a')).resolves.toBeUndefined();
    await expect(throttle.reserve('dan', 'a')).rejects.toThrow(/Too many/);
  });

  test('a client is an IPv4 address (mapped or not) or an IPv6 /64', async () => {
    expect(clientNetwork('10.1.2.3')).toBe('10.1.2.3');
    expect(clientNetwork('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientNetwork('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64');
    expect(clientNetwork('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientNetwork('unknown')).toBe('unknown');
    const throttle = throttleOn(new LoginFailureRepository(new SqliteDatabase(openDatabase(':memory:'))), { maxFailuresPerUser: 100, maxFailuresPerAddress: 2 });
    await throttle.reserve('a', '2001:db8:1:2::1');
    await throttle.reserve('b', '2001:db8:1:2:aaaa::7');
    await expect(throttle.reserve('c', '2001:db8:1:2:ffff:ffff:ffff:ffff')).rejects.toThrow(/Too many/);
    await expect(throttle.reserve('c', '2001:db8:1:3::1')).resolves.toBeUndefined();
  });

  test('100,001 other keys (the old tracker cleared everything past 100,000) do not drop the target user count', async () => {
    let now = 0;
    const store = new LoginFailureRepository(new SqliteDatabase(openDatabase(':memory:')));
    const throttle = throttleOn(store, { maxFailuresPerUser: 3, maxFailuresPerAddress: 3, now: () => now });
    for (let i = 0; i < 3; i++) await throttle.reserve('target', `10.0.0.${i}`);
    for (let i = 0; i < 100_001; i++) await throttle.reserve(`other-${i}`, `addr-${i}`);
    await expect(throttle.reserve('target', '10.9.9.9')).rejects.toThrow(/Too many failed login attempts/);
    // Once their windows end, the rows are swept: the table does not grow without bound.
    now += 61_000;
    await throttle.reserve('late', 'x');
    expect(await store.count()).toBe(2);
  });
});

/** Wraps the real hasher and counts its calls (nothing is faked: every call hashes). */
function countingHasher(): PasswordHasher & { calls: number } {
  const counter = {
    calls: 0,
    hash: (password: string, iterations: number, salt?: string) => {
      counter.calls++;
      return pbkdf2Hasher.hash(password, iterations, salt);
    },
    verify: (password: string, encoded: string) => {
      counter.calls++;
      return pbkdf2Hasher.verify(password, encoded);
    },
  };
  return counter;
}

describe('on the login routes', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ BOATLOAD_LOGIN_MAX_FAILURES_PER_USER: '3', BOATLOAD_LOGIN_MAX_FAILURES_PER_ADDRESS: '20' });
  });
  afterAll(async () => {
    await system.close();
  });

  test('after 3 failures for a user, even the right password is a 429 with Retry-After; others can log in', async () => {
    for (let i = 0; i < 3; i++) await system.http().post('/api-token-auth/').send({ username: 'admin', password: `guess-${i}` }).expect(400);
    const blocked = await system.http().post('/api-token-auth/').send({ username: 'admin', password: 'admin' }).expect(429);
    expect(blocked.body.detail).toMatch(/Too many failed login attempts/);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    await system.http().post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(429);
  });
});

describe('under concurrency, across restarts and floods', () => {
  const LIMIT = 5;
  const PER_ADDRESS = 20;
  const hasher = countingHasher();
  let system: TestSystem;
  let server: Server;

  beforeAll(async () => {
    system = await startSystem({ BOATLOAD_LOGIN_MAX_FAILURES_PER_USER: String(LIMIT), BOATLOAD_LOGIN_MAX_FAILURES_PER_ADDRESS: String(PER_ADDRESS) }, { seams: { passwords: hasher } });
    for (const name of ['victim-token', 'victim-session']) await system.token(name);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await system.close();
  });

  /** The current API on a port of its own, so requests can come from other loopback addresses. */
  async function listenOnce(): Promise<number> {
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    server = createServer(system.api.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** POSTs a JSON login from `from` (any 127.x.y.z address), answering the status. */
  function loginFrom(port: number, from: string, path: string, body: { username: string; password: string }): Promise<number> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = httpRequest({ host: '127.0.0.1', port, localAddress: from, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  test.each([
    ['/api-token-auth/', 'victim-token', '127.0.2.1'],
    ['/v1/auth/login', 'victim-session', '127.0.2.2'],
  ])('200 parallel wrong passwords on %s: %s gets at most the limit of 400s, 429 for the rest, and no hashing for those', async (path, username, from) => {
    const port = await listenOnce();
    const callsBefore = hasher.calls;
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => loginFrom(port, from, path, { username, password: `wrong-${i}` })));
    const bad = statuses.filter((s) => s === 400).length;
    const throttled = statuses.filter((s) => s === 429).length;
    expect({ bad, throttled, other: 200 - bad - throttled }).toEqual({ bad: LIMIT, throttled: 200 - LIMIT, other: 0 });
    // One password check per attempt that was not throttled, none for the 195 others.
    expect(hasher.calls - callsBefore).toBe(bad);
    // Even the right password waits for the window now.
    expect(await loginFrom(port, '127.0.2.9', path, { username, password: PASSWORD })).toBe(429);
    expect(hasher.calls - callsBefore).toBe(bad);
  });

  test('the counts survive an API restart', async () => {
    await system.restartApi();
    const port = await listenOnce();
    const callsBefore = hasher.calls;
    expect(await loginFrom(port, '127.0.2.10', '/api-token-auth/', { username: 'victim-token', password: PASSWORD })).toBe(429);
    expect(await loginFrom(port, '127.0.2.10', '/v1/auth/login', { username: 'victim-session', password: PASSWORD })).toBe(429);
    expect(hasher.calls).toBe(callsBefore);
    // The address that made the 5 failures still has them: 15 more failures, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < PER_ADDRESS - LIMIT + 1; i++) statuses.push(await loginFrom(port, '127.0.2.1', '/api-token-auth/', { username: `someone-${i}`, password: 'wrong' }));
    expect(statuses.slice(0, -1).every((s) => s === 400)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });

  test('flooding with other usernames from other addresses does not reset the target; the per-address limit still applies', async () => {
    const port = await listenOnce();
    const addresses = Array.from({ length: 10 }, (_, i) => `127.0.3.${i + 1}`);
    const perAddress = await Promise.all(
      addresses.map(async (from, a) => {
        const statuses: number[] = [];
        for (let i = 0; i < PER_ADDRESS + 5; i++) statuses.push(await loginFrom(port, from, '/api-token-auth/', { username: `flood-${a}-${i}`, password: 'wrong' }));
        return statuses;
      }),
    );
    for (const statuses of perAddress) {
      expect(statuses.slice(0, PER_ADDRESS).every((s) => s === 400)).toBe(true);
      expect(statuses.slice(PER_ADDRESS).every((s) => s === 429)).toBe(true);
    }
    expect(await loginFrom(port, '127.0.4.1', '/api-token-auth/', { username: 'victim-token', password: PASSWORD })).toBe(429);
    // A user nobody guessed at logs in from a fresh address.
    expect(await loginFrom(port, '127.0.4.1', '/api-token-auth/', { username: 'admin', password: 'admin' })).toBe(200);
  });
});
