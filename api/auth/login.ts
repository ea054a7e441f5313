/**
 * A password login, throttled: the attempt is counted before the password is hashed and taken back
 * when it is right, so a throttled attempt is refused (429) without any hashing.
 */
import { ValidationError } from '../../common/errors';
import type { User } from '../store/users';
import type { UserService } from '../users/service';
import type { LoginThrottle } from './login-throttle';

export interface LoginAttempt {
  username: string;
  password: string;
  /** The client's address, counted alongside the username. */
  address: string;
}

export class LoginService {
  constructor(private readonly deps: { users: UserService; throttle: LoginThrottle }) {}

  /** The user whose credentials these are; 400 when they are wrong, 429 when throttled. */
  async login(attempt: LoginAttempt): Promise<User> {
    const { users, throttle } = this.deps;
    throttle.reserve(attempt.username, attempt.address);
    // Until `succeeded`, the attempt stays counted as a failure (also when authenticate throws).
    const user = await users.authenticate(attempt.username, attempt.password);
    if (!user) throw ValidationError.field('non_field_errors', 'Unable to log in with provided credentials.');
    throttle.succeeded(attempt.username, attempt.address);
    return user;
  }
}
