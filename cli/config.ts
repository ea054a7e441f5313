/**
 * The command line's stored logins: `$XDG_CONFIG_HOME/boatload/config.json` (default
 * `~/.config/boatload/config.json`), mode 0600 in a 0700 directory, one entry per profile.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors';

export interface Profile {
  url: string;
  token?: string;
  username?: string;
}

export interface ConfigFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function configPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'boatload', 'config.json');
}

export function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return { profiles: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read ${path}: ${(err as Error).message}. Remove it and log in again.`);
  }
  const profiles = (parsed as { profiles?: unknown } | null)?.profiles;
  if (!profiles || typeof profiles !== 'object') return { profiles: {} };
  return { profiles: profiles as Record<string, Profile> };
}

/** Writes the file atomically, 0600, its directory 0700 (a token is a password). */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}
