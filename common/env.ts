/** Helpers for the config modules of the API and the satellite: read and validate env vars. */

export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export function intFromEnv(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new ConfigError(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return Number(raw);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** LOG_FORMAT: `json`, `pretty`, or `auto` (the default: pretty when stdout is a terminal). */
export function logFormatFromEnv(env: Env, stdoutIsTerminal: boolean): 'json' | 'pretty' {
  const raw = env.LOG_FORMAT ?? 'auto';
  if (raw === 'json' || raw === 'pretty') return raw;
  if (raw === 'auto' || raw === '') return stdoutIsTerminal ? 'pretty' : 'json';
  throw new ConfigError(`LOG_FORMAT must be json, pretty or auto, got "${raw}"`);
}
