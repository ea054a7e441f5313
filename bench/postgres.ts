/**
 * A private PostgreSQL server for the bench, started and stopped by the same shell functions the tests
 * use (scripts/lib.sh ensure_postgres / stop_started_postgres: Debian's postgresql, installed when
 * missing, on a free loopback port with its own data directory).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

export class BenchPostgres {
  private constructor(
    private readonly root: string,
    private readonly dir: string,
    /** postgres://… of the server's `postgres` database. */
    readonly url: string,
  ) {}

  static async start(root: string): Promise<BenchPostgres> {
    const lib = join(root, 'scripts', 'lib.sh');
    const script = `source "$1"; ensure_postgres >&2 || exit 1; printf '%s\\n%s\\n' "$STARTED_PG_DIR" "$BOATLOAD_TEST_DATABASE_URL"`;
    const { stdout } = await run('bash', ['-c', script, 'bash', lib], { cwd: root, maxBuffer: 1 << 20 });
    const [dir, url] = stdout.trim().split('\n');
    if (!dir || !url) throw new Error(`could not start PostgreSQL for the bench (scripts/lib.sh ensure_postgres printed "${stdout.trim()}")`);
    return new BenchPostgres(root, dir, url);
  }

  /** Creates an empty database and answers its URL. `name`: lower-case letters, digits and _. */
  async database(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    const url = new URL(this.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async stop(): Promise<void> {
    const script = 'source "$1"; STARTED_PG_DIR="$2"; stop_started_postgres >&2';
    await run('bash', ['-c', script, 'bash', join(this.root, 'scripts', 'lib.sh'), this.dir], { cwd: this.root });
  }
}
