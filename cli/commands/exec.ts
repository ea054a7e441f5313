/**
 * `boatload exec`: run a command in a running container. Plain: to its end through POST .../exec,
 * its output printed and its exit code ours. `-it`: a real terminal over the terminal WebSocket,
 * the local terminal in raw mode and resized on SIGWINCH.
 */
import type { Command } from 'commander';
import type WebSocket from 'ws';
import type { BoatLoadClient } from '../../client';
import { CliError } from '../errors';
import { printJson } from '../output';
import { contextOf, examples, wantsJson, withJson } from './common';

interface ExecOptions {
  interactive?: boolean;
  tty?: boolean;
  workdir?: string;
  user?: string;
  env: string[];
  timeout?: number;
}

export function registerExec(program: Command): void {
  examples(
    withJson(
      program
        .command('exec')
        .description('Run a command in a running container and exit with its exit code (-it: an interactive terminal)')
        .argument('<id>', 'container id or a unique prefix')
        .argument('[cmd...]', 'the command and its arguments (default with -it: /bin/sh)')
        .option('-i, --interactive', 'keep stdin open (with -t: a terminal)')
        .option('-t, --tty', 'a terminal (with -i)')
        .option('-w, --workdir <dir>', 'working directory')
        .option('-u, --user <user>', 'user, uid, user:group or uid:gid')
        .option('-e, --env <NAME=value>', 'an environment variable (repeatable; not with -it)', (v: string, p: string[]) => [...p, v], [])
        .option('--timeout <seconds>', 'kill the command after this long (not with -it)', (v: string) => {
          if (!/^\d+$/.test(v)) throw new CliError(`--timeout ${v}: whole seconds.`);
          return Number(v);
        })
        .passThroughOptions(),
    ).action(async (given: string, cmd: string[], options: ExecOptions, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const id = await context.resolveId(client, given);
      if (options.interactive || options.tty) {
        if (!(options.interactive && options.tty)) throw new CliError('Use -i and -t together (-it): only interactive terminals are served.', 2);
        process.exitCode = await terminal(client, id, { cmd, user: options.user, workdir: options.workdir });
        return;
      }
      if (!cmd.length) throw new CliError('Which command? e.g. boatload exec ID ls -la /boatload', 2);
      const env: Record<string, string> = {};
      for (const pair of options.env) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new CliError(`--env ${pair}: expected NAME=value.`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const result = await client.exec(id, { cmd, ...(options.env.length ? { env } : {}), workdir: options.workdir, user: options.user, timeout: options.timeout });
      if (wantsJson(command)) {
        printJson(result);
      } else {
        process.stdout.write(result.stdout);
        process.stderr.write(result.stderr);
        if (result.truncated) process.stderr.write('boatload: output truncated by the API.\n');
        if (result.timed_out) process.stderr.write('boatload: the command timed out and was killed.\n');
      }
      process.exitCode = result.exit_code;
    }),
    ['boatload exec 3f2a ls -la /boatload', 'boatload exec -it 3f2a', 'boatload exec -it 3f2a bash -l'],
  );
}

async function terminal(client: BoatLoadClient, id: string, options: { cmd: string[]; user?: string; workdir?: string }): Promise<number> {
  const stdin = process.stdin;
  const size = (): { cols: number; rows: number } => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  const socket: WebSocket = await client.terminal(id, { ...size(), cmd: options.cmd.length ? options.cmd : undefined, user: options.user, workdir: options.workdir });
  const raw = Boolean(stdin.isTTY);
  if (raw) stdin.setRawMode(true);
  const onData = (chunk: Buffer): void => socket.send(JSON.stringify({ type: 'stdin', data: chunk.toString('utf8') }));
  const onResize = (): void => socket.send(JSON.stringify({ type: 'resize', ...size() }));
  stdin.on('data', onData);
  stdin.resume();
  process.on('SIGWINCH', onResize);
  try {
    return await new Promise<number>((resolve, reject) => {
      let exitCode: number | null = null;
      socket.on('message', (data: Buffer) => {
        let message: { type?: string; data?: string; exit_code?: number; detail?: string };
        try {
          message = JSON.parse(data.toString('utf8')) as typeof message;
        } catch {
          return;
        }
        if (message.type === 'output' && message.data) process.stdout.write(message.data);
        else if (message.type === 'error') process.stderr.write(`\r\nboatload: ${message.detail ?? 'error'}\r\n`);
        else if (message.type === 'exit') exitCode = message.exit_code ?? 0;
      });
      socket.on('close', () => resolve(exitCode ?? 0));
      socket.on('error', reject);
    });
  } finally {
    process.off('SIGWINCH', onResize);
    stdin.off('data', onData);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
}
