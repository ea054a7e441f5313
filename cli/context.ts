/**
 * What every verb needs: the profile's login (or BOATLOAD_URL + BOATLOAD_TOKEN), a client, and
 * short container ids resolved to full ones.
 */
import { BoatLoadClient } from '../client';
import { configPath, DEFAULT_PROFILE, readConfig, type Profile } from './config';
import { CliError, LOGIN_HINT } from './errors';

export interface GlobalOptions {
  profile?: string;
  json?: boolean;
}

export const USER_AGENT = 'boatload-cli';

export class CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly profileName: string;

  constructor(input: { env: NodeJS.ProcessEnv; profile?: string }) {
    this.env = input.env;
    this.profileName = input.profile ?? input.env.BOATLOAD_PROFILE ?? DEFAULT_PROFILE;
  }

  get configPath(): string {
    return configPath(this.env);
  }

  /** The stored profile, if any. */
  storedProfile(): Profile | undefined {
    return readConfig(this.configPath).profiles[this.profileName];
  }

  /** BOATLOAD_URL + BOATLOAD_TOKEN first, then the profile; a missing login says how to log in. */
  login(): { url: string; token: string } {
    const stored = this.storedProfile();
    const url = this.env.BOATLOAD_URL || stored?.url;
    const token = this.env.BOATLOAD_TOKEN || (this.env.BOATLOAD_URL && this.env.BOATLOAD_URL !== stored?.url ? undefined : stored?.token);
    if (!url || !token) {
      const which = this.profileName === DEFAULT_PROFILE ? '' : ` (profile ${this.profileName})`;
      throw new CliError(`Not logged in${which}. ${LOGIN_HINT}`);
    }
    return { url, token };
  }

  client(): BoatLoadClient {
    const { url, token } = this.login();
    return new BoatLoadClient({ url, token, userAgent: USER_AGENT });
  }

  /** A full container id from an id or a unique prefix of one, like docker. */
  async resolveId(client: BoatLoadClient, given: string): Promise<string> {
    if (!given) throw new CliError('A container id is required.');
    const containers = await client.listContainers();
    if (containers.some((c) => c.id === given)) return given;
    const matches = containers.filter((c) => c.id.startsWith(given));
    if (matches.length === 1 && matches[0]) return matches[0].id;
    if (matches.length > 1) throw new CliError(`${given} is ambiguous: it starts ${matches.length} container ids (${matches.map((c) => c.id.slice(0, 12)).join(', ')}).`);
    throw new CliError(`No such container: ${given}`);
  }
}
