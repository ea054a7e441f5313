/**
 * Throttles password guessing: failed logins are counted per username and per client address in
 * a sliding window; past either limit, logins answer 429 with Retry-After until the window moves
 * on. A success clears the username's count. (Counts live in memory: losing them on restart only
 * resets a window, which is not worth a store write per failed login.)
 */
import { TooManyRequestsError } from '../../common/errors';

export interface LoginThrottleOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowSeconds: number;
  now?: () => number;
}

const MAX_TRACKED_KEYS = 100_000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.options.windowSeconds * 1000;
    const times = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (times.length) this.failures.set(key, times);
    else this.failures.delete(key);
    return times;
  }

  /** Throws 429 when the user or the address has failed too often lately. */
  check(username: string, address: string): void {
    for (const [key, limit] of [[`user:${username}`, this.options.maxFailuresPerUser], [`addr:${address}`, this.options.maxFailuresPerAddress]] as const) {
      const times = this.recent(key);
      if (times.length >= limit) {
        const retryAfter = Math.max(1, Math.ceil((times[0] + this.options.windowSeconds * 1000 - this.now()) / 1000));
        throw new TooManyRequestsError(`Too many failed login attempts; try again in ${retryAfter} seconds.`, retryAfter);
      }
    }
  }

  recordFailure(username: string, address: string): void {
    if (this.failures.size > MAX_TRACKED_KEYS) this.failures.clear();
    for (const key of [`user:${username}`, `addr:${address}`]) this.failures.set(key, [...this.recent(key), this.now()]);
  }

  recordSuccess(username: string): void {
    this.failures.delete(`user:${username}`);
  }
}
