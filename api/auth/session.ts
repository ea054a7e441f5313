/**
 * The login session: express-session (stored in the store) and passport's session user. A request that
 * carries a token never uses the session (requireAuth authenticates it by the token alone), so both
 * are skipped for it: no session id is generated, no cookie signature checked, no store read.
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Authenticator } from './passport';
import { tokenFromHeader } from './passport';
import type { StoreSessionStore } from '../store/session-store';

export interface SessionMiddlewareOptions {
  store: StoreSessionStore;
  secret: string;
  maxAgeSeconds: number;
  secureCookie: boolean;
  passport: Authenticator;
}

/** Login makes a session whatever the request carries. */
const LOGIN_PATH = '/v1/auth/login';

export function sessionMiddleware(options: SessionMiddlewareOptions): RequestHandler[] {
  const steps: RequestHandler[] = [
    session({
      name: 'sessionid',
      store: options.store,
      secret: options.secret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: options.secureCookie, maxAge: options.maxAgeSeconds * 1000 },
    }),
    options.passport.session() as RequestHandler, // typed any by @types/passport
  ];
  return steps.map((step): RequestHandler => (req, res, next) => {
    if (tokenFromHeader(req) !== null && req.path.replace(/\/+$/, '') !== LOGIN_PATH) return next();
    step(req, res, next);
  });
}
