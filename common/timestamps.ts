/**
 * Nanosecond timestamps for resumable output streams. The engine stamps each log line with
 * RFC 3339 and nine fraction digits; JavaScript dates only hold milliseconds, so instants are
 * kept as BigInt nanoseconds since the epoch.
 */

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const UNIX = /^(\d{1,12})(?:\.(\d{1,9}))?$/;

/** RFC 3339 (any fraction, any offset) → nanoseconds; null when it is not one. */
export function rfc3339ToNanos(text: string): bigint | null {
  const match = RFC3339.exec(text);
  if (!match) return null;
  const [, whole, fraction = '', zone] = match;
  const ms = Date.parse(`${whole}${zone}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** `1700000000` or `1700000000.5` (seconds) → nanoseconds; null when it is not one. */
export function unixSecondsToNanos(text: string): bigint | null {
  const match = UNIX.exec(text);
  if (!match) return null;
  return BigInt(match[1]) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Either form. */
export function parseInstant(text: string): bigint | null {
  return unixSecondsToNanos(text) ?? rfc3339ToNanos(text);
}

/** Nanoseconds → `2024-05-01T10:00:00.123456789Z` (always nine digits, UTC). */
export function nanosToRfc3339(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const whole = new Date(Number(ms)).toISOString().slice(0, 19);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${whole}.${fraction}Z`;
}

/** Nanoseconds → the engine's `since` form, `seconds.nanoseconds`. */
export function nanosToUnixSeconds(nanos: bigint): string {
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
}
