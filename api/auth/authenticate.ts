/**
 * The guard on every /v1 route: a JWT in the Authorization header, or a logged-in session. Session
 * writes must carry the CSRF token (header X-CSRFToken, as Django) that login handed out.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Authenticator } from './passport';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { NotAuthenticatedError, PermissionDeniedError } from '../../common/errors';
import type { User } from '../store/users';

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augmenting Express's global namespace takes namespace syntax
  namespace Express {
    // passport's req.user is our store's User.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an empty interface merges; a type alias could not
    interface User extends BoatLoadUser {}
    interface Request {
      authMethod?: 'jwt' | 'session';
    }
  }
}
type BoatLoadUser = import('../store/users').User;

export const CSRF_COOKIE = 'csrftoken';
export const CSRF_HEADER = 'x-csrftoken';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function newCsrfToken(): string {
  return randomBytes(24).toString('hex');
}

function csrfMatches(req: Request): boolean {
  const expected = req.session?.csrfToken;
  const given = req.get(CSRF_HEADER);
  if (!expected || !given || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

export function requireAuth(passport: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.headers.authorization) {
      // @types/passport types authenticate()'s result as any; it is a middleware.
      (passport.authenticate('jwt', { session: false }, (err: unknown, user: User | false) => {
        if (err) return next(err);
        if (!user) return next(new NotAuthenticatedError('Invalid or expired token.'));
        req.user = user;
        req.authMethod = 'jwt';
        next();
      }) as RequestHandler)(req, res, next);
      return;
    }
    if (req.user) {
      req.authMethod = 'session';
      if (!SAFE_METHODS.has(req.method) && !csrfMatches(req)) {
        return next(new PermissionDeniedError('CSRF Failed: CSRF token missing or incorrect.'));
      }
      return next();
    }
    next(new NotAuthenticatedError());
  };
}

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (!req.user?.isAdmin) return next(new PermissionDeniedError());
  next();
};

/** The authenticated user; routes behind requireAuth may rely on it. */
export function currentUser(req: Request): User {
  if (!req.user) throw new NotAuthenticatedError();
  return req.user;
}
