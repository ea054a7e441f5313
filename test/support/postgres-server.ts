/**
 * A PostgreSQL server of a test's own (Debian's packages, as scripts/lib.sh ensure_postgres starts
 * the suite's): initdb'd into a temporary directory, on a free loopback port, so that the test can
 * stop and start it under load without touching the server other test files use. As root it runs
 * as the `postgres` user (PostgreSQL refuses to run as root). Without the packages it fails, naming
 * how to get them.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './api-process';

export interface PostgresServer {
  /** postgres://... of the server's `postgres` database. */
  url: string;
  /** Stops the server (fast: open sessions are ended) and answers once it is down. */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops it and removes its files. */
  destroy(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: the test preparation (scripts/lib.sh ensure_postgres) installs Debian\'s postgresql; or apt-get install -y postgresql');
  versions.sort((a, b) => Number(a) - Number(b));
  return join(root, versions[versions.length - 1], 'bin');
}

export interface PostgresServerOptions {
  /**
   * Listen on this address instead of loopback, and let password logins come from `allowFrom` (a
   * CIDR) only: the cluster suite's server, on the host's leg of the nodes' bridge.
   */
  listen?: { address: string; allowFrom: string };
}

export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = binDir();
  const address = options.listen?.address ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'boatload-pg-own-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres:', dir]);
  const run = (command: string, args: string[]): void => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args];
    execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('initdb', ['-D', join(dir, 'data'), '-U', 'boatload', `--pwfile=${join(dir, 'pwfile')}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', '-E', 'UTF8', '--no-locale']);
  // initdb's pg_hba.conf admits loopback only.
  if (options.listen) appendFileSync(join(dir, 'data', 'pg_hba.conf'), `host all boatload ${options.listen.allowFrom} scram-sha-256\n`);
  const start = (): void =>
    run('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', `-c listen_addresses=${address} -p ${port} -k ${dir} -c fsync=off -c max_connections=200`, 'start']);
  const stop = (): void => run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop']);
  start();
  return {
    url: `postgres://boatload:${password}@${address}:${port}/postgres`,
    stop,
    start,
    destroy: () => {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
