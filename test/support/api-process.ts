/**
 * The API as a real operating-system process (dist/api/main.js), for tests that must kill it.
 * `npm test` compiles dist/ first; a stale or missing build fails the test loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../common/project-root';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export function compiledApiEntry(): string {
  const root = projectRoot();
  const entry = join(root, 'dist', 'api', 'main.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < statSync(join(root, 'api', 'server.ts')).mtimeMs) {
    throw new Error('dist/ is missing or older than the sources: run the suite with `npm test`, which compiles it');
  }
  return entry;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [compiledApiEntry()], {
    env: { PATH: process.env.PATH ?? '', ...env, BOATLOAD_HOST: '127.0.0.1', BOATLOAD_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited during start-up:\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200 || res.status === 503) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API did not answer within 20 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
