/**
 * Quotas in force per user (installation defaults, overridden per user by admins), what each user
 * holds against them, and the refusals. The final count check of a create happens in the store,
 * in the transaction that inserts the record (see insertWithinLimit in api/store/); `ensureRoom`
 * here is the early refusal before any work is done.
 */
import { QuotaExceededError, ValidationError } from '../../common/errors';
import type { QuotaRepository } from '../store/quotas';
import { effectiveLimits, QUOTA_FIELDS, QUOTA_KINDS, wouldExceed, type QuotaKind, type QuotaLimits, type QuotaOverrides } from './limits';

/** The objects a user holds that count against a quota. */
export type CountedKind = 'containers' | 'volumes' | 'snapshots';

export interface QuotaServiceOptions {
  repository: QuotaRepository;
  defaults: QuotaLimits;
  /** How many objects of each kind the user holds now. */
  count: (kind: CountedKind, username: string) => Promise<number>;
}

/** The answer of GET/PUT /v1/users/<username>/quotas: limits in force, overrides, defaults, usage. */
export interface QuotaView {
  username: string;
  quotas: Record<string, number>;
  overrides: Record<string, number | null>;
  defaults: Record<string, number>;
  usage: { containers: number; volumes: number; snapshots: number };
}

function snake<T>(values: { [K in QuotaKind]: T }): Record<string, T> {
  return Object.fromEntries(QUOTA_KINDS.map((kind) => [QUOTA_FIELDS[kind], values[kind]]));
}

/** The 403 of a create that would take the user over a count quota. */
export function countQuotaExceeded(kind: CountedKind, limit: number, more = 1): QuotaExceededError {
  const asked = more > 1 ? ` (this request needs ${more} more)` : '';
  return new QuotaExceededError(`Quota exceeded: your ${kind} quota is ${limit} ${kind}${asked}. Delete some first, or ask an administrator to raise it.`);
}

export class QuotaService {
  constructor(private readonly options: QuotaServiceOptions) {}

  /** The installation's defaults (what a user without overrides has). */
  defaults(): QuotaLimits {
    return this.options.defaults;
  }

  async limitsFor(username: string): Promise<QuotaLimits> {
    return effectiveLimits(this.options.defaults, await this.options.repository.find(username));
  }

  /**
   * Refuses at once (403) when the user has no room for `more` objects of the kind; otherwise the
   * limit, for the insert that takes the deciding count again.
   */
  async ensureRoom(username: string, kind: CountedKind, more = 1): Promise<number> {
    const limit = (await this.limitsFor(username))[kind];
    if (wouldExceed(limit, await this.options.count(kind, username), more)) throw countQuotaExceeded(kind, limit, more);
    return limit;
  }

  async view(username: string): Promise<QuotaView> {
    const overrides = await this.options.repository.find(username);
    const count = (kind: CountedKind): Promise<number> => this.options.count(kind, username);
    return {
      username,
      quotas: snake(effectiveLimits(this.options.defaults, overrides)),
      overrides: snake({
        containers: overrides.containers ?? null,
        volumes: overrides.volumes ?? null,
        snapshots: overrides.snapshots ?? null,
        containerDiskBytes: overrides.containerDiskBytes ?? null,
        volumeBytes: overrides.volumeBytes ?? null,
      }),
      defaults: snake(this.options.defaults),
      usage: { containers: await count('containers'), volumes: await count('volumes'), snapshots: await count('snapshots') },
    };
  }

  /**
   * Replaces the user's overrides with the body's: each field a whole number (0: unlimited) or
   * null (the installation's default); a field left out is the default too.
   */
  async set(username: string, body: unknown): Promise<QuotaView> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ValidationError.field('non_field_errors', 'A JSON object of quotas is required.');
    const input = body as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    const known = new Set(Object.values(QUOTA_FIELDS));
    for (const key of Object.keys(input)) if (!known.has(key)) errors[key] = [`Unknown quota; the quotas are ${[...known].join(', ')}.`];
    const overrides: QuotaOverrides = {};
    for (const kind of QUOTA_KINDS) {
      const value = input[QUOTA_FIELDS[kind]];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        errors[QUOTA_FIELDS[kind]] = ['A whole number >= 0 (0: unlimited), or null for the default.'];
        continue;
      }
      overrides[kind] = value;
    }
    if (Object.keys(errors).length) throw new ValidationError(errors);
    await this.options.repository.set(username, overrides);
    return this.view(username);
  }

  async forget(username: string): Promise<void> {
    await this.options.repository.delete(username);
  }
}
