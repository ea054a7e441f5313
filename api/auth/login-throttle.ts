/**
 * Throttles password guessing: logins are counted per username and per client (an IPv4 address or
 * an IPv6 /64, see clientNetwork) in a window
 * that starts at the key's first failure; past either limit, logins answer 429 with Retry-After
 * until the window ends.
 *
 * An attempt is counted *before* its password is hashed (`reserve`), and taken back when it turns
 * out right (`succeeded`, which also clears the username's count). So parallel guesses cannot all
 * pass the check before any of them is counted, and a throttled attempt costs no hashing. Counts
 * live in the store: a restart does not reset them, and filling the table with other keys evicts
 * nothing (each counted key cost the sender one full password hash; ended windows are swept).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TooManyRequestsError } from '../../common/errors';
import type { LoginFailureRepository } from '../store/login-failures';

export interface LoginThrottleOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowSeconds: number;
  store: LoginFailureRepository;
  now?: () => number;
}

/** Ended windows are swept at most this often, on a counted attempt. */
const SWEEP_INTERVAL_MS = 60_000;

const userKey = (username: string): string => `user:${username}`;
const addressKey = (address: string): string => `addr:${clientNetwork(address)}`;

/**
 * What one client is counted as: an IPv4 address (also when IPv4-mapped), or an IPv6 address's /64,
 * the smallest network a host is usually given (so it cannot spread guesses over its 2^64 addresses).
 */
export function clientNetwork(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address) || !isIPv6(address.split('%')[0])) return address;
  const [head, tail] = address.split('%')[0].split('::') as [string, string | undefined];
  const groupsOf = (part: string | undefined): string[] => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const before = groupsOf(head);
  const after = groupsOf(tail);
  const groups = tail === undefined ? before : [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export class LoginThrottle {
  private readonly now: () => number;
  private lastSweepMs = 0;

  constructor(private readonly options: LoginThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  private get windowMs(): number {
    return this.options.windowSeconds * 1000;
  }

  /**
   * Counts an attempt for the user and the address as a failure until `succeeded` says otherwise.
   * Throws 429 (and counts nothing) when either is at its limit.
   */
  async reserve(username: string, address: string): Promise<void> {
    const nowMs = this.now();
    await this.sweep(nowMs);
    const result = await this.options.store.reserve({
      keys: [
        { key: userKey(username), limit: this.options.maxFailuresPerUser },
        { key: addressKey(address), limit: this.options.maxFailuresPerAddress },
      ],
      nowMs,
      windowMs: this.windowMs,
    });
    if (!result.reserved) {
      const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      throw new TooManyRequestsError(`Too many failed login attempts; try again in ${retryAfter} seconds.`, retryAfter);
    }
  }

  /** The reserved attempt was right: the user's count is cleared, the address's attempt taken back. */
  async succeeded(username: string, address: string): Promise<void> {
    await this.options.store.clear(userKey(username));
    await this.options.store.release({ key: addressKey(address), nowMs: this.now(), windowMs: this.windowMs });
  }

  private async sweep(nowMs: number): Promise<void> {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    await this.options.store.sweep({ nowMs, windowMs: this.windowMs });
  }
}
