/**
 * Login endpoints: djangorestframework-jwt's token routes and the session login. Thin: they read
 * the body, call UserService / TokenService, and shape the answer.
 */
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import { validationErrorFrom } from '../http/parse-body';
import type { FieldDoc, RouteGroup } from '../http/route-table';
import type { UserService } from '../users/service';
import { toUserView } from '../users/service';
import { CSRF_COOKIE, currentUser, newCsrfToken, requireAuth } from './authenticate';
import type { Authenticator } from './passport';
import type { LoginService } from './login';
import type { User } from '../store/users';
import { tokenHolder, type TokenPayload, type TokenService } from './tokens';

export interface AuthRouteDeps {
  users: UserService;
  tokens: TokenService;
  passport: Authenticator;
  login: LoginService;
  secureCookie: boolean;
  /**
   * Body parsers: `credentials` for the routes that authenticate with the body (small limits, run
   * before anyone is known), `authenticated` for the routes that read a body after `auth`.
   */
  bodies: { credentials: RequestHandler[]; authenticated: RequestHandler[] };
}

const REQUIRED = 'This field is required.';
const requiredString = z.string({ required_error: REQUIRED, invalid_type_error: REQUIRED }).min(1, REQUIRED);

/** A login's body (JSON or form); other fields are ignored, as djangorestframework-jwt does. */
export const credentialsSchema = z.object({ username: requiredString, password: requiredString });

/** Validates the login body (DRF's field errors), then logs in through the throttle. */
async function credentialsFrom(req: Request, login: LoginService): Promise<User> {
  const body: unknown = req.body;
  const result = credentialsSchema.safeParse(typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {});
  if (!result.success) throw validationErrorFrom(result.error);
  const { username, password } = result.data;
  return login.login({ username, password, address: req.socket.remoteAddress ?? 'unknown' });
}

/** Login, tokens and the caller's own account, as a route table mounted at the root. */
export function authGroup(deps: AuthRouteDeps): RouteGroup {
  const { users, tokens, passport, login, bodies } = deps;
  const auth = requireAuth(passport);
  /** The user a posted token speaks for; a 400 in DRF-jwt's shape when there is none. */
  const holderOf = async (payload: TokenPayload): Promise<User> => {
    const user = await users.find(payload.username);
    if (!user) throw ValidationError.field('non_field_errors', "User doesn't exist.");
    const holder = await tokenHolder(payload, async () => user);
    if (!holder) throw ValidationError.field('non_field_errors', 'Token has been revoked.');
    return holder;
  };
  const credentials: FieldDoc[] = [
    { name: 'username', type: 'string', required: true, description: 'Your user name.' },
    { name: 'password', type: 'string', required: true, description: 'Your password.' },
  ];
  const token: FieldDoc[] = [{ name: 'token', type: 'string (JWT)', required: true, description: 'A token from /api-token-auth/.' }];
  return {
    name: 'auth',
    base: '',
    description: "Log in (djangorestframework-jwt's token routes, or a session with CSRF), and your own account.",
    idVariable: 'USER',
    routes: [
      {
        method: 'post',
        path: '/api-token-auth',
        summary: 'A JWT for a username and password (JSON or form).',
        body: credentials,
        bodySchema: credentialsSchema,
        bodyTypes: ['application/x-www-form-urlencoded'],
        answer: '200 {token}; bad credentials: 400 {non_field_errors}; too many failures: 429',
        handlers: [
          ...bodies.credentials,
          async (req, res) => {
            const user = await credentialsFrom(req, login);
            res.json({ token: tokens.issue(user) });
          },
        ],
      },
      {
        method: 'post',
        path: '/api-token-refresh',
        summary: 'A new token with the same orig_iat, until the refresh window ends.',
        body: token,
        answer: '200 {token}; a revoked token (password changed, user deleted, logged out everywhere): 400',
        handlers: [
          ...bodies.credentials,
          async (req, res) => {
            const payload = tokens.verify((req.body as { token?: unknown } | undefined)?.token);
            res.json({ token: tokens.refresh(payload, await holderOf(payload)) });
          },
        ],
      },
      {
        method: 'post',
        path: '/api-token-verify',
        summary: 'The token back if it is valid.',
        body: token,
        answer: '200 {token}, else 400',
        handlers: [
          ...bodies.credentials,
          async (req, res) => {
            const given = (req.body as { token?: unknown } | undefined)?.token;
            await holderOf(tokens.verify(given));
            res.json({ token: given });
          },
        ],
      },
      {
        method: 'post',
        path: '/v1/auth/login',
        summary: 'A session: the sessionid cookie, and a csrftoken cookie and csrf_token for writes.',
        body: credentials,
        bodySchema: credentialsSchema,
        bodyTypes: ['application/x-www-form-urlencoded'],
        answer: '200 {username, is_admin, created, csrf_token}',
        handlers: [
          ...bodies.credentials,
          async (req: Request, res: Response) => {
            const user = await credentialsFrom(req, login);
            // passport's req.login regenerates the session id (no session fixation).
            await new Promise<void>((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
            const csrfToken = newCsrfToken();
            req.session.csrfToken = csrfToken;
            res.cookie(CSRF_COOKIE, csrfToken, { sameSite: 'lax', secure: deps.secureCookie, httpOnly: false });
            res.json({ ...toUserView(user), csrf_token: csrfToken });
          },
        ],
      },
      {
        method: 'post',
        path: '/v1/auth/logout',
        summary: 'Ends the session.',
        answer: '204',
        access: 'user',
        handlers: [
          auth,
          async (req: Request, res: Response) => {
            if (req.authMethod === 'session') {
              await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
              await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
              res.clearCookie(CSRF_COOKIE);
            }
            res.status(204).end();
          },
        ],
      },
      {
        method: 'get',
        path: '/v1/auth/me',
        summary: 'Who you are, and how you authenticated.',
        answer: '200 {username, is_admin, created, auth}',
        access: 'user',
        handlers: [
          auth,
          (req, res) => {
            res.json({ ...toUserView(currentUser(req)), auth: req.authMethod });
          },
        ],
      },
      {
        method: 'post',
        path: '/v1/auth/password',
        summary: 'Change your password (at least 8 characters); ends your sessions and every token issued before.',
        body: [
          { name: 'old_password', type: 'string', required: true, description: 'The current password.' },
          { name: 'new_password', type: 'string', required: true, description: 'The new one.' },
        ],
        answer: '204',
        access: 'user',
        handlers: [
          auth,
          ...bodies.authenticated,
          async (req, res) => {
            await users.changePassword(currentUser(req), (req.body ?? {}) as { old_password: unknown; new_password: unknown });
            res.status(204).end();
          },
        ],
      },
    ],
  };
}
