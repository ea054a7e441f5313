/** Password guessing is throttled per username and per address, with Retry-After. */
import { LoginThrottle } from '../../api/auth/login-throttle';
import { startSystem, type TestSystem } from '../support/system';

describe('LoginThrottle', () => {
  test('per user, per address, and the window moves on', () => {
    let now = 0;
    const throttle = new LoginThrottle({ maxFailuresPerUser: 3, maxFailuresPerAddress: 5, windowSeconds: 60, now: () => now });
    for (let i = 0; i < 3; i++) {
      throttle.check('ann', '1.1.1.1');
      throttle.recordFailure('ann', '1.1.1.1');
    }
    expect(() => throttle.check('ann', '2.2.2.2')).toThrow(/Too many failed login attempts/);
    throttle.check('bob', '1.1.1.1');
    throttle.recordFailure('bob', '1.1.1.1');
    throttle.recordFailure('cid', '1.1.1.1');
    expect(() => throttle.check('dan', '1.1.1.1')).toThrow(/try again in 60 seconds/);
    now += 61_000;
    expect(() => throttle.check('ann', '1.1.1.1')).not.toThrow();
  });

  test('a success clears the user count', () => {
    const throttle = new LoginThrottle({ maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowSeconds: 60 });
    throttle.recordFailure('ann', 'a');
    throttle.recordSuccess('ann');
    throttle.recordFailure('ann', 'a');
    expect(() => throttle.check('ann', 'a')).not.toThrow();
  });
});

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
