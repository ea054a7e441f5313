/** Both auth flows (djangorestframework-jwt tokens and sessions), users, and their edge cases. */
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { PASSWORD, startSystem, type TestSystem, sqliteDb } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_JWT_EXPIRATION_SECONDS: '60' });
});

afterAll(async () => {
  await system.close();
});

describe('JWT (djangorestframework-jwt conventions)', () => {
  test('POST /api-token-auth/ with JSON or a form answers a token; bad credentials are a 400 non_field_errors', async () => {
    const json = await system.http().post('/api-token-auth/').send({ username: 'admin', password: 'admin' }).expect(200);
    expect(typeof json.body.token).toBe('string');
    const form = await system.http().post('/api-token-auth').type('form').send({ username: 'admin', password: 'admin' }).expect(200);
    expect(typeof form.body.token).toBe('string');
    const bad = await system.http().post('/api-token-auth/').send({ username: 'admin', password: 'nope' }).expect(400);
    expect(bad.body).toEqual({ non_field_errors: ['Unable to log in with provided credentials.'] });
    const missing = await system.http().post('/api-token-auth/').send({}).expect(400);
    expect(missing.body).toEqual({ username: ['This field is required.'], password: ['This field is required.'] });
  });

  test('the token carries DRF-jwt claims and works with "JWT" and "Bearer" prefixes', async () => {
    const token = await system.token('admin');
    const claims = jwt.decode(token) as Record<string, unknown>;
    expect(claims).toMatchObject({ username: 'admin', user_id: 'admin', exp: expect.any(Number), orig_iat: expect.any(Number) });
    const me = await system.http().get('/v1/auth/me').set('Authorization', `JWT ${token}`).expect(200);
    expect(me.body).toMatchObject({ username: 'admin', is_admin: true, auth: 'jwt' });
    await system.http().get('/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
  });

  test('refresh keeps orig_iat; verify echoes a valid token and refuses a bad one', async () => {
    const token = await system.token('admin');
    const refreshed = await system.http().post('/api-token-refresh/').send({ token }).expect(200);
    expect((jwt.decode(refreshed.body.token) as { orig_iat: number }).orig_iat).toBe((jwt.decode(token) as { orig_iat: number }).orig_iat);
    const verified = await system.http().post('/api-token-verify/').send({ token }).expect(200);
    expect(verified.body).toEqual({ token });
    const bad = await system.http().post('/api-token-verify/').send({ token: 'x.y.z' }).expect(400);
    expect(bad.body).toEqual({ non_field_errors: ['Error decoding signature.'] });
  });

  test.each([
    ['alg none', () => jwt.sign({ username: 'admin', user_id: 'admin', orig_iat: 1 }, '', { algorithm: 'none' })],
    ['a wrong secret', () => jwt.sign({ username: 'admin', user_id: 'admin', orig_iat: 1 }, 'not-the-secret-0123456789-0123456789', { expiresIn: 60 })],
    ['an expired token', () => jwt.sign({ username: 'admin', user_id: 'admin', orig_iat: 1, exp: Math.floor(Date.now() / 1000) - 10 }, secretOf())],
    ['a tampered payload', () => tamper(jwt.sign({ username: 'alice-nobody', user_id: 'x', orig_iat: 1 }, secretOf(), { expiresIn: 60 }))],
    ['garbage', () => 'garbage'],
  ])('%s is a 401', async (_name, make) => {
    const res = await system.http().get('/v1/container/').set('Authorization', `JWT ${make()}`).expect(401);
    expect(res.body).toEqual({ detail: expect.any(String) });
  });

  test("a deleted user's token is a 401", async () => {
    const token = await system.token('doomed');
    await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);
    await system.http().delete('/v1/users/doomed/').set('Authorization', `JWT ${await system.token('admin')}`).expect(204);
    await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(401);
  });
});

function secretOf(): string {
  return (sqliteDb(system.api).prepare("SELECT value FROM settings WHERE key = 'jwt_secret'").get() as { value: string }).value;
}

function tamper(token: string): string {
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ username: 'admin', user_id: 'admin', orig_iat: 1, exp: 9999999999 })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

describe('sessions', () => {
  test('login sets an httpOnly SameSite cookie, rotates the session id, and me answers', async () => {
    const agent = request.agent(system.api.app);
    const first = await agent.post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    const cookies = ([] as string[]).concat(first.headers['set-cookie'] ?? []);
    const session = cookies.find((c) => c.startsWith('sessionid='));
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(first.body).toMatchObject({ username: 'admin', is_admin: true, csrf_token: expect.any(String) });
    const second = await agent.post('/v1/auth/login').type('form').send({ username: 'admin', password: 'admin' }).expect(200);
    const rotated = ([] as string[]).concat(second.headers['set-cookie'] ?? []).find((c) => c.startsWith('sessionid='));
    expect(rotated?.split(';')[0]).not.toBe(session?.split(';')[0]);
    const me = await agent.get('/v1/auth/me').expect(200);
    expect(me.body).toMatchObject({ username: 'admin', auth: 'session' });
  });

  test('writes under session auth need the CSRF token', async () => {
    const agent = request.agent(system.api.app);
    const login = await agent.post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    const refused = await agent.post('/v1/users/').send({ username: 'csrf-victim', password: PASSWORD }).expect(403);
    expect(refused.body.detail).toMatch(/CSRF/);
    await agent.post('/v1/users/').set('X-CSRFToken', 'wrong-token-wrong-token-wrong-token-0000').send({ username: 'csrf-victim', password: PASSWORD }).expect(403);
    await agent.post('/v1/users/').set('X-CSRFToken', login.body.csrf_token).send({ username: 'csrf-ok', password: PASSWORD }).expect(201);
  });

  test('logout ends the session', async () => {
    const agent = request.agent(system.api.app);
    const login = await agent.post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    await agent.post('/v1/auth/logout').set('X-CSRFToken', login.body.csrf_token).expect(204);
    await agent.get('/v1/auth/me').expect(401);
  });

  test('a login that also carries a token still makes a session (any spelling of the path)', async () => {
    const token = await system.token('admin');
    for (const path of ['/v1/auth/login', '/v1/auth/login/']) {
      const agent = request.agent(system.api.app);
      const res = await agent.post(path).set('Authorization', `JWT ${token}`).send({ username: 'admin', password: 'admin' }).expect(200);
      expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).some((c) => c.startsWith('sessionid='))).toBe(true);
      const me = await agent.get('/v1/auth/me').expect(200);
      expect(me.body).toMatchObject({ username: 'admin', auth: 'session' });
    }
  });

  test('bad credentials are a 400 and set no session', async () => {
    const res = await system.http().post('/v1/auth/login').send({ username: 'admin', password: 'wrong' }).expect(400);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test('sessions survive an API restart', async () => {
    const login = await system.http().post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    await system.restartApi();
    const me = await system.http().get('/v1/auth/me').set('Cookie', cookie).expect(200);
    expect(me.body.username).toBe('admin');
  });
});

describe('users', () => {
  test('admins list, create and delete users; others get 403', async () => {
    const admin = await system.token('admin');
    const created = await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'dave', password: PASSWORD }).expect(201);
    expect(created.body).toMatchObject({ username: 'dave', is_admin: false });
    const list = await system.http().get('/v1/users/').set('Authorization', `JWT ${admin}`).expect(200);
    expect(list.body.map((u: { username: string }) => u.username)).toEqual(expect.arrayContaining(['admin', 'dave']));
    expect(JSON.stringify(list.body)).not.toMatch(/pbkdf2/);
    const dave = (await system.http().post('/api-token-auth/').send({ username: 'dave', password: PASSWORD }).expect(200)).body.token;
    await system.http().get('/v1/users/').set('Authorization', `JWT ${dave}`).expect(403);
    await system.http().post('/v1/users/').set('Authorization', `JWT ${dave}`).send({ username: 'eve', password: PASSWORD }).expect(403);
    await system.http().delete('/v1/users/dave').set('Authorization', `JWT ${admin}`).expect(204);
    await system.http().delete('/v1/users/dave').set('Authorization', `JWT ${admin}`).expect(404);
  });

  test('user validation: duplicates, short passwords, bad names, self-deletion', async () => {
    const admin = await system.token('admin');
    const dup = await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'admin', password: PASSWORD }).expect(400);
    expect(dup.body).toEqual({ username: ['A user with that username already exists.'] });
    const short = await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'frank', password: 'short' }).expect(400);
    expect(short.body.password[0]).toMatch(/too short/);
    const bad = await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username: 'bad name\n', password: PASSWORD, is_admin: 'yes' }).expect(400);
    expect(Object.keys(bad.body).sort()).toEqual(['is_admin', 'username']);
    await system.http().delete('/v1/users/admin').set('Authorization', `JWT ${admin}`).expect(409);
  });

  test('a user changes their own password; the old one stops working', async () => {
    const token = await system.token('grace');
    const wrong = await system.http().post('/v1/auth/password').set('Authorization', `JWT ${token}`).send({ old_password: 'nope', new_password: 'another-long-one' }).expect(400);
    expect(wrong.body).toEqual({ old_password: ['Your old password was entered incorrectly.'] });
    await system.http().post('/v1/auth/password').set('Authorization', `JWT ${token}`).send({ old_password: PASSWORD, new_password: 'another-long-one' }).expect(204);
    await system.http().post('/api-token-auth/').send({ username: 'grace', password: PASSWORD }).expect(400);
    await system.http().post('/api-token-auth/').send({ username: 'grace', password: 'another-long-one' }).expect(200);
  });

  test("deleting a user deletes their containers", async () => {
    const admin = await system.token('admin');
    const token = await system.token('henry');
    const created = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ container_args: ['sleep', '30'] }).expect(201);
    await system.http().delete('/v1/users/henry').set('Authorization', `JWT ${admin}`).expect(204);
    await system.http().get(`/v1/container/${created.body.id}`).set('Authorization', `JWT ${admin}`).expect(404);
  });
});

describe('health', () => {
  test('200 with every part ok, and the default-password warning while admin/admin is in use', async () => {
    const res = await system.http().get('/health').set('Authorization', `JWT ${await system.token('admin')}`).expect(200);
    expect(res.body).toMatchObject({ status: 'ok', store: 'ok', engine: 'ok' });
    expect(Object.values(res.body.satellites)).toEqual(['ok']);
    expect(res.body.warnings[0]).toMatch(/default password/);
  });

  test('503 naming the satellite when it is down, and ok again when it returns', async () => {
    await system.stopSatellite();
    const down = await system.http().get('/health').set('Authorization', `JWT ${await system.token('admin')}`).expect(503);
    expect(down.body.status).toBe('unavailable');
    expect(Object.values(down.body.satellites)[0]).toMatch(/unavailable/);
    const admin = await system.token('admin');
    const list = await system.http().post('/v1/container/').set('Authorization', `JWT ${admin}`).send({ container_args: ['true'] }).expect(503);
    expect(list.body.detail).toMatch(/satellite .* is unavailable/);
    await system.restartSatellite();
    await system.http().get('/health').expect(200);
  });
});
