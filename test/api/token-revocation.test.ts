/**
 * Tokens die with the password: a JWT issued before a password change, before the user's deletion
 * (also once a user of the same name exists again) or before an admin's "log out everywhere" is
 * refused: 401 on API routes, 400 from /api-token-verify/ and /api-token-refresh/.
 */
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { PASSWORD, startSystem, type TestSystem, sqliteDb } from '../support/system';

let system: TestSystem;
let admin: string;

beforeAll(async () => {
  system = await startSystem();
  admin = await system.token('admin');
});

afterAll(async () => {
  await system.close();
});

async function createUser(username: string): Promise<void> {
  await system.http().post('/v1/users/').set('Authorization', `JWT ${admin}`).send({ username, password: PASSWORD }).expect(201);
}

async function login(username: string, password = PASSWORD): Promise<string> {
  const res = await system.http().post('/api-token-auth/').send({ username, password }).expect(200);
  return res.body.token as string;
}

/** The token is refused everywhere, in each endpoint's shape. */
async function expectRefused(token: string, verifyMessage: string): Promise<void> {
  const api = await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(401);
  expect(api.body).toEqual({ detail: expect.any(String) });
  await system.http().get('/v1/auth/me').set('Authorization', `JWT ${token}`).expect(401);
  const verify = await system.http().post('/api-token-verify/').send({ token }).expect(400);
  expect(verify.body).toEqual({ non_field_errors: [verifyMessage] });
  const refresh = await system.http().post('/api-token-refresh/').send({ token }).expect(400);
  expect(refresh.body).toEqual({ non_field_errors: [verifyMessage] });
}

async function expectAccepted(token: string, username: string): Promise<void> {
  const me = await system.http().get('/v1/auth/me').set('Authorization', `JWT ${token}`).expect(200);
  expect(me.body.username).toBe(username);
  await system.http().post('/api-token-verify/').send({ token }).expect(200);
}

test('a password change ends the tokens issued before it, refreshed ones included', async () => {
  await createUser('pat');
  const before = await login('pat');
  const refreshed = (await system.http().post('/api-token-refresh/').send({ token: before }).expect(200)).body.token as string;
  await expectAccepted(refreshed, 'pat');
  await system.http().post('/v1/auth/password').set('Authorization', `JWT ${before}`).send({ old_password: PASSWORD, new_password: 'a-new-long-password' }).expect(204);
  await expectRefused(before, 'Token has been revoked.');
  await expectRefused(refreshed, 'Token has been revoked.');
  await expectAccepted(await login('pat', 'a-new-long-password'), 'pat');
});

test("a deleted user's tokens stay dead when a user of the same name is created again", async () => {
  await createUser('dee');
  const before = await login('dee');
  await system.http().delete('/v1/users/dee/').set('Authorization', `JWT ${admin}`).expect(204);
  await expectRefused(before, "User doesn't exist.");
  await createUser('dee');
  await expectRefused(before, 'Token has been revoked.');
  await expectAccepted(await login('dee'), 'dee');
});

test("an admin's log-out-everywhere ends the user's tokens and sessions; admins only", async () => {
  await createUser('lou');
  const token = await login('lou');
  const browser = request.agent(system.api.app);
  await browser.post('/v1/auth/login').send({ username: 'lou', password: PASSWORD }).expect(200);
  await browser.get('/v1/auth/me').expect(200);

  const other = await login('admin', 'admin');
  await system.http().post('/v1/users/lou/logout').set('Authorization', `JWT ${token}`).expect(403);
  await system.http().post('/v1/users/nobody-here/logout/').set('Authorization', `JWT ${admin}`).expect(404);
  await system.http().post('/v1/users/lou/logout/').set('Authorization', `JWT ${admin}`).expect(204);

  await expectRefused(token, 'Token has been revoked.');
  await browser.get('/v1/auth/me').expect(401);
  await expectAccepted(await login('lou'), 'lou');
  // Nobody else was logged out.
  await expectAccepted(other, 'admin');
});

test('a token without the credential claim (issued before it existed) is refused', async () => {
  const secret = (sqliteDb(system.api).prepare("SELECT value FROM settings WHERE key = 'jwt_secret'").get() as { value: string }).value;
  const legacy = jwt.sign({ user_id: 'admin', username: 'admin', orig_iat: Math.floor(Date.now() / 1000) }, secret, { expiresIn: 60 });
  await expectRefused(legacy, 'Token has been revoked.');
});

test('tokens survive an API restart (ADMINHASH applied again changes nothing)', async () => {
  await createUser('ray');
  const token = await login('ray');
  const adminToken = await login('admin', 'admin');
  await system.restartApi();
  await expectAccepted(token, 'ray');
  await expectAccepted(adminToken, 'admin');
});
