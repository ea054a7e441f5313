/** Runs the compiled `boatload` (dist/cli/main.js) as a user would: its own HOME, stdin not a terminal. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote } from 'shell-quote';
import { BoatLoadClient } from '../../client';
import { projectRoot } from '../../common/project-root';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';
import { eventually } from '../support/system';

export const CLI = join(projectRoot(), 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface CliHome {
  home: string;
  /** Extra environment (BOATLOAD_URL, BOATLOAD_TOKEN, ...). */
  env?: Record<string, string>;
}

export function cliEnv(where: CliHome): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: where.home, XDG_CONFIG_HOME: join(where.home, '.config'), ...where.env };
  return env;
}

export function startCli(args: string[], where: CliHome): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: cliEnv(where), cwd: where.home, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function cli(args: string[], where: CliHome, input?: string | Buffer): Promise<CliResult> {
  const child = startCli(args, where);
  return collect(child, input);
}

export function collect(child: ChildProcess, input?: string | Buffer, options: { keepStdinOpen?: boolean } = {}): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  if (options.keepStdinOpen) {
    if (input !== undefined) child.stdin?.write(input);
    child.on('exit', () => child.stdin?.end());
  } else {
    child.stdin?.end(input);
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`, in bsdutils, always on Debian): stdin,
 * stdout and stderr are the terminal, sized cols×rows. The answer is what the terminal showed
 * (stdout and stderr together, line ends as \r\n); write to `child.stdin` to type.
 */
export function startCliInTerminal(args: string[], where: CliHome, size: { cols: number; rows: number } = { cols: 100, rows: 30 }): ChildProcess {
  const command = `stty cols ${size.cols} rows ${size.rows}; exec ${quote([process.execPath, CLI, ...args])}`;
  return spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], { env: cliEnv(where), cwd: where.home, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** startCliInTerminal to its end; stdin stays open (as a person's keyboard would) until it ends. */
export function cliInTerminal(args: string[], where: CliHome, size?: { cols: number; rows: number }): Promise<CliResult> {
  const child = startCliInTerminal(args, where, size);
  return collect(child, undefined, { keepStdinOpen: true });
}

export interface CliSystem {
  system: SandboxSystem;
  /** A fresh HOME with BOATLOAD_URL and BOATLOAD_TOKEN (admin) set: no login needed. */
  where: CliHome;
  /** The admin's client, to set things up and check them. */
  client: BoatLoadClient;
  close(): Promise<void>;
}

/** The real system on a real port, and an admin's environment for the CLI in a fresh HOME. */
export async function startCliSystem(homePrefix: string): Promise<CliSystem> {
  const system = await startSandboxSystem();
  const url = await system.listen();
  const home = mkdtempSync(join(tmpdir(), homePrefix));
  const token = await system.token('admin');
  return {
    system,
    where: { home, env: { BOATLOAD_URL: url, BOATLOAD_TOKEN: token } },
    client: new BoatLoadClient({ url, token }),
    close: async () => {
      rmSync(home, { recursive: true, force: true });
      await system.close();
    },
  };
}

/** The CLI on a terminal into which `keys` are typed once the screen shows `after`, as a person would. */
export async function typeInTerminal(args: string[], where: CliHome, input: { after: string; keys: string }): Promise<CliResult> {
  const child = startCliInTerminal(args, where);
  const done = collect(child, undefined, { keepStdinOpen: true });
  let shown = '';
  child.stdout?.on('data', (chunk: Buffer) => (shown += chunk.toString('utf8')));
  await eventually(async () => (shown.includes(input.after) ? true : undefined), 30000, `"${input.after}" on the terminal`);
  child.stdin?.write(input.keys);
  return done;
}
