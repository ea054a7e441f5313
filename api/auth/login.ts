/**
 * A password login, throttled: the attempt is counted before the password is hashed and taken back
 * when it is right, so a throttled attempt is refused (429) without any hashing.
 */
import { TooManyRequestsError, ValidationError } from '../../common/errors';
import type { User } from '../store/users';
import type { UserService } from '../users/service';
import type { LoginThrottle } from './login-throttle';

export interface LoginAttempt {
  username: string;
  password: string;
  /** The client's address, counted alongside the username. */
  address: string;
}

/** Told of each login refused for wrong credentials and each throttled one (for metrics). */
export interface LoginObserver {
  failure(): void;
  throttled(): void;
}

export class LoginService {
  constructor(private readonly deps: { users: UserService; throttle: LoginThrottle; observer?: LoginObserver }) {}

  /** The user whose credentials these are; 400 when they are wrong, 429 when throttled. */
  async login(attempt: LoginAttempt): Promise<User> {
    const { users, throttle } = this.deps;
    try {
      await throttle.reserve(attempt.username, attempt.address);
    } catch (err) {
      if (err instanceof TooManyRequestsError) this.deps.observer?.throttled();
      throw err;
    }
    // Until `succeeded`, the attempt stays counted as a failure (also when authenticate throws).
    const user = await users.authenticate(attempt.username, attempt.password);
    if (!user) {
      this.deps.observer?.failure();
      throw ValidationError.field('non_field_errors', 'Unable to log in with provided credentials.');
    }
    await throttle.succeeded(attempt.username, attempt.address);
    return user;
  }
}
