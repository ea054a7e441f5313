/**
 * passport strategies: `jwt` for `Authorization: JWT <token>` (or `Bearer <token>`), and the
 * session's (de)serialisation by username. Password logins go through LoginService (throttled).
 */
import passportModule from 'passport';

export type Authenticator = InstanceType<typeof passportModule.Passport>;
import { Strategy as JwtStrategy } from 'passport-jwt';
import type { Request } from 'express';
import type { User } from '../store/users';
import type { UserService } from '../users/service';
import { tokenHolder, type TokenPayload, type TokenService } from './tokens';

/** Reads `JWT <token>` (djangorestframework-jwt's prefix) or `Bearer <token>`. */
export function tokenFromHeader(req: Request): string | null {
  const match = /^(JWT|Bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match ? match[2] : null;
}

export function createPassport(input: { users: UserService; tokens: TokenService }): Authenticator {
  // A private instance, not passport's module-level singleton.
  const passport = new passportModule.Passport();
  passport.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: tokenFromHeader,
        // The KeyObject (fast; see TokenService.key), which passport-jwt hands to jsonwebtoken as is;
        // its typings only know string | Buffer.
        secretOrKey: input.tokens.key as unknown as Buffer,
        algorithms: ['HS256'],
      },
      (payload: TokenPayload, done: (err: unknown, user?: User | false) => void) => {
        // A token outlives nothing: the user must still exist and hold the credentials it was
        // issued under (one read of the user by primary key, as before).
        tokenHolder(payload, (username) => input.users.find(username)).then(
          (user) => done(null, user ?? false),
          (err: unknown) => done(err),
        );
      },
    ),
  );
  passport.serializeUser((user, done) => done(null, user.username));
  passport.deserializeUser((username: string, done) => {
    input.users.find(username).then(
      (user) => done(null, user ?? false),
      (err: unknown) => done(err),
    );
  });
  return passport;
}
