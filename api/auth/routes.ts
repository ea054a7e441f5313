/**
 * Login endpoints: djangorestframework-jwt's token routes and the session login. Thin: they read
 * the body, call UserService / TokenService, and shape the answer.
 */
import { Router, type Request, type Response } from 'express';
import { ValidationError } from '../../common/errors';
import type { UserService } from '../users/service';
import { toUserView } from '../users/service';
import { CSRF_COOKIE, currentUser, newCsrfToken, requireAuth } from './authenticate';
import type { Authenticator } from './passport';
import type { LoginThrottle } from './login-throttle';
import type { TokenService } from './tokens';

export interface AuthRouteDeps {
  users: UserService;
  tokens: TokenService;
  passport: Authenticator;
  throttle: LoginThrottle;
  secureCookie: boolean;
}

async function credentialsFrom(req: Request, users: UserService, throttle: LoginThrottle): Promise<NonNullable<Awaited<ReturnType<UserService['authenticate']>>>> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const errors: Record<string, string[]> = {};
  if (typeof body.username !== 'string' || !body.username) errors.username = ['This field is required.'];
  if (typeof body.password !== 'string' || !body.password) errors.password = ['This field is required.'];
  if (Object.keys(errors).length) throw new ValidationError(errors);
  const username = body.username as string;
  const address = req.socket.remoteAddress ?? 'unknown';
  throttle.check(username, address);
  const user = await users.authenticate(username, body.password as string);
  if (!user) {
    throttle.recordFailure(username, address);
    throw ValidationError.field('non_field_errors', 'Unable to log in with provided credentials.');
  }
  throttle.recordSuccess(username);
  return user;
}

export function authRoutes(deps: AuthRouteDeps): Router {
  const router = Router();
  const { users, tokens, passport, throttle } = deps;

  router.post('/api-token-auth', async (req, res) => {
    const user = await credentialsFrom(req, users, throttle);
    res.json({ token: tokens.issue(user.username) });
  });

  router.post('/api-token-refresh', (req, res) => {
    res.json({ token: tokens.refresh((req.body ?? {}).token) });
  });

  router.post('/api-token-verify', (req, res) => {
    const token = (req.body ?? {}).token as unknown;
    const payload = tokens.verify(token);
    if (!users.find(payload.username)) throw ValidationError.field('non_field_errors', "User doesn't exist.");
    res.json({ token });
  });

  router.post('/v1/auth/login', async (req: Request, res: Response) => {
    const user = await credentialsFrom(req, users, throttle);
    // passport's req.login regenerates the session id (no session fixation).
    await new Promise<void>((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
    const csrfToken = newCsrfToken();
    req.session.csrfToken = csrfToken;
    res.cookie(CSRF_COOKIE, csrfToken, { sameSite: 'lax', secure: deps.secureCookie, httpOnly: false });
    res.json({ ...toUserView(user), csrf_token: csrfToken });
  });

  const auth = requireAuth(passport);

  router.post('/v1/auth/logout', auth, async (req: Request, res: Response) => {
    if (req.authMethod === 'session') {
      await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      res.clearCookie(CSRF_COOKIE);
    }
    res.status(204).end();
  });

  router.get('/v1/auth/me', auth, (req, res) => {
    res.json({ ...toUserView(currentUser(req)), auth: req.authMethod });
  });

  router.post('/v1/auth/password', auth, async (req, res) => {
    await users.changePassword(currentUser(req), (req.body ?? {}) as { old_password: unknown; new_password: unknown });
    res.status(204).end();
  });

  return router;
}
