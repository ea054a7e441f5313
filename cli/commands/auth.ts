/** login, logout, whoami. */
import type { Command } from 'commander';
import { BoatLoadClient } from '../../client';
import { readConfig, writeConfig } from '../config';
import { USER_AGENT } from '../context';
import { CliError } from '../errors';
import { printJson } from '../output';
import { promptLine, promptPassword, readStdin } from '../prompt';
import { contextOf, examples, wantsJson, withJson } from './common';

interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
}

export function registerAuth(program: Command): void {
  examples(
    program
      .command('login')
      .description('Log in to a BoatLoad API and keep the token (0600) in ~/.config/boatload/config.json')
      .argument('[url]', "the API's URL (default: the profile's last one)")
      .option('-u, --username <name>', 'user name (prompted for on a terminal)')
      .option('--password-stdin', 'read the password from stdin')
      .action(async (url: string | undefined, options: LoginOptions, command: Command) => {
        const context = contextOf(command);
        const stored = context.storedProfile();
        const target = url ?? context.env.BOATLOAD_URL ?? stored?.url;
        if (!target) throw new CliError('Which API? Run `boatload login URL`, e.g. boatload login http://127.0.0.1:8000');
        if (!/^https?:\/\//.test(target)) throw new CliError(`${target} is not an http(s) URL.`);
        const interactive = Boolean(process.stdin.isTTY);
        let username = options.username ?? (interactive ? '' : undefined);
        if (username === '') username = (await promptLine(`Username${stored?.username ? ` (${stored.username})` : ''}: `)).trim() || stored?.username;
        if (!username) throw new CliError('A user name is required: --username NAME.');
        let password: string;
        if (options.passwordStdin) password = await readStdin();
        else if (interactive) password = await promptPassword('Password: ');
        else throw new CliError('stdin is not a terminal: pass the password with --password-stdin.');
        if (!password) throw new CliError('A password is required.');
        const client = new BoatLoadClient({ url: target, userAgent: USER_AGENT });
        const token = await client.login(username, password);
        const config = readConfig(context.configPath);
        config.profiles[context.profileName] = { url: client.url, token, username };
        writeConfig(context.configPath, config);
        process.stderr.write(`Logged in to ${client.url} as ${username} (profile ${context.profileName}).\n`);
      }),
    ['boatload login http://127.0.0.1:8000', 'echo "$PASSWORD" | boatload login https://boatload.example --username ci --password-stdin', 'boatload --profile staging login https://staging.example'],
  );

  examples(
    program
      .command('logout')
      .description("Forget the profile's token")
      .action((_options: unknown, command: Command) => {
        const context = contextOf(command);
        const config = readConfig(context.configPath);
        const profile = config.profiles[context.profileName];
        if (!profile?.token) {
          process.stderr.write(`Not logged in (profile ${context.profileName}).\n`);
          return;
        }
        delete profile.token;
        writeConfig(context.configPath, config);
        process.stderr.write(`Logged out of ${profile.url} (profile ${context.profileName}).\n`);
      }),
    ['boatload logout', 'boatload --profile staging logout'],
  );

  examples(
    withJson(program.command('whoami').description('Who the token belongs to, and where')).action(async (_options: unknown, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const me = await client.me();
      if (wantsJson(command)) return printJson({ ...me, url: client.url, profile: context.profileName });
      process.stdout.write(`${me.username}${me.is_admin ? ' (admin)' : ''} at ${client.url}\n`);
    }),
    ['boatload whoami', 'boatload whoami --json'],
  );
}
