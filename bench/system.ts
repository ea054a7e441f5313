/**
 * A real BoatLoad for the bench: the satellite and the API as two separate node processes run from
 * dist/ (as `npm start` runs them), on their own ports and a temp data dir, so that each process's
 * memory can be watched and either can be profiled (--cpu-prof). With `satellite: false` only the API
 * runs (the cluster scenario: its satellites are a Swarm service). `stop()` ends exactly the
 * processes it started, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from './http';

export interface SystemOptions {
  /** The project root (holds dist/). */
  root: string;
  apiPort?: number;
  satellitePort?: number;
  /** When set, both processes run with --cpu-prof and write their profiles here. */
  cpuProfileDir?: string;
  /** false: the API alone (the satellites run elsewhere, e.g. as a Swarm service). Default true. */
  satellite?: boolean;
  /** The shared satellite secret (default: random). */
  secret?: string;
  /** More settings for the API process (e.g. the swarm backend's). */
  apiEnv?: Record<string, string>;
}

interface Child {
  name: 'api' | 'satellite';
  process: ChildProcess;
  log: WriteStream;
  logPath: string;
  exited: Promise<number | null>;
}

/** The preferred port if it is free, else any free port. */
async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : null;
        server.close(() => resolve(chosen));
      });
    });
  return (await tryPort(preferred)) ?? ((await tryPort(0)) as number);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class BoatLoadSystem {
  private readonly children: Child[] = [];
  private stopping = false;
  private expectedChildren = 2;

  private constructor(
    readonly dataDir: string,
    readonly apiPort: number,
    readonly satellitePort: number,
    /** The satellite secret both processes share (an API-only system may reuse another's satellite). */
    readonly secret: string,
  ) {}

  get apiPid(): number {
    return this.child('api').process.pid as number;
  }

  get satellitePid(): number {
    return this.child('satellite').process.pid as number;
  }

  /** Pids of the processes this system started (for cleanup on SIGINT). */
  get pids(): number[] {
    return this.children.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  }

  private child(name: Child['name']): Child {
    const found = this.children.find((c) => c.name === name);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  }

  static async start(options: SystemOptions): Promise<BoatLoadSystem> {
    for (const script of ['dist/api/main.js', 'dist/satellite/main.js']) {
      if (!existsSync(join(options.root, script))) throw new Error(`${script} is missing: build first (npm run bench compiles)`);
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'boatload-bench-'));
    const apiPort = await freePort(options.apiPort ?? 18000);
    const satellitePort = await freePort(options.satellitePort ?? 18001);
    // A fixed secret for both, so they never race to create the shared secret file.
    const secret = options.secret ?? randomBytes(32).toString('hex');
    const system = new BoatLoadSystem(dataDir, apiPort, satellitePort, secret);
    const env: NodeJS.ProcessEnv = {};
    // Inherit the basics, but no BoatLoad setting from the caller's shell: the bench runs defaults.
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^(BOATLOAD_|SATELLITE_|ADMINHASH$|LOG_LEVEL$|DOCKER_HOST$)/.test(key)) env[key] = value;
    }
    Object.assign(env, {
      BOATLOAD_DATA_DIR: dataDir,
      BOATLOAD_HOST: '127.0.0.1',
      BOATLOAD_PORT: String(apiPort),
      SATELLITE_HOST: '127.0.0.1',
      SATELLITE_PORT: String(satellitePort),
      SATELLITE_URL: `http://127.0.0.1:${satellitePort}`,
      SATELLITE_SECRET: secret,
      // As root the unit API also listens on /var/run/fleet.sock by default: never take (or, on
      // exit, remove) the socket of a BoatLoad that someone else runs on this machine.
      BOATLOAD_FLEET_SOCKET: 'off',
      LOG_LEVEL: 'warn',
    });
    try {
      if (options.satellite === false) system.expectedChildren = 1;
      else system.spawn('satellite', 'dist/satellite/main.js', options, env);
      system.spawn('api', 'dist/api/main.js', options, { ...env, ...options.apiEnv });
      await system.waitHealthy(30_000);
    } catch (err) {
      await system.stop();
      throw err;
    }
    return system;
  }

  private spawn(name: Child['name'], script: string, options: SystemOptions, env: NodeJS.ProcessEnv): void {
    const args: string[] = [];
    if (options.cpuProfileDir) {
      mkdirSync(options.cpuProfileDir, { recursive: true });
      args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`);
    }
    const logPath = join(this.dataDir, `${name}.log`);
    const log = createWriteStream(logPath);
    const child = spawn(process.execPath, [...args, join(options.root, script)], { cwd: options.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    void exited.then((code) => {
      if (!this.stopping) process.stderr.write(`bench: the ${name} process exited unexpectedly (code ${code}); its log:\n${this.logTail(name)}\n`);
    });
    this.children.push({ name, process: child, log, logPath, exited });
  }

  logTail(name: Child['name'], lines = 30): string {
    const found = this.children.find((c) => c.name === name);
    if (!found) return '';
    try {
      return readFileSync(found.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Whether both processes are still running. */
  get alive(): boolean {
    return this.children.length === this.expectedChildren && this.children.every((c) => c.process.exitCode === null && c.process.signalCode === null);
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const client = new HttpClient({ host: '127.0.0.1', port: this.apiPort });
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    try {
      while (Date.now() < deadline) {
        if (!this.alive) throw new Error(`BoatLoad did not start:\n--- api ---\n${this.logTail('api')}\n--- satellite ---\n${this.logTail('satellite')}`);
        try {
          const answer = await client.request('GET', '/health');
          if (answer.status === 200) return;
          last = `${answer.status} ${answer.text()}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await sleep(100);
      }
      throw new Error(`BoatLoad's /health did not answer 200 within ${timeoutMs} ms (last: ${last})`);
    } finally {
      client.close();
    }
  }

  /** A client for the API, logged in as the fixture's admin (one PBKDF2 login, then the JWT). */
  async login(username = 'admin', password = 'admin'): Promise<HttpClient> {
    const anonymous = new HttpClient({ host: '127.0.0.1', port: this.apiPort });
    try {
      const answer = await anonymous.expect('POST', '/api-token-auth/', 200, { username, password });
      const { token } = answer.json<{ token: string }>();
      return new HttpClient({ host: '127.0.0.1', port: this.apiPort }, { authorization: `JWT ${token}` });
    } finally {
      anonymous.close();
    }
  }

  /** SIGTERM to both (API first, so it stops calling the satellite), SIGKILL after 8 s; removes the data dir. */
  async stop(options: { keepDataDir?: boolean } = {}): Promise<void> {
    this.stopping = true;
    for (const name of ['api', 'satellite'] as const) {
      const child = this.children.find((c) => c.name === name);
      if (!child) continue;
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        const killed = await Promise.race([child.exited.then(() => true), sleep(8000).then(() => false)]);
        if (!killed) {
          child.process.kill('SIGKILL');
          await child.exited;
        }
      }
      child.log.end();
    }
    if (!options.keepDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Synchronous last-resort stop (SIGINT handler, process exit). */
  killNow(): void {
    this.stopping = true;
    for (const child of this.children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
