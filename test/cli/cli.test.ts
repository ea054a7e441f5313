/**
 * The `boatload` command driven as a user would: the compiled CLI spawned against the real system
 * (API + satellite on the real engine) listening on a real port, in a fresh HOME.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoatLoadClient } from '../../client';
import { readTar } from '../support/archives';
import { eventually } from '../support/system';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';
import { cli, collect, startCli, type CliHome } from './run-cli';

let system: SandboxSystem;
let url: string;
let home: string;
let where: CliHome;
let client: BoatLoadClient;

beforeAll(async () => {
  system = await startSandboxSystem();
  url = await system.listen();
  home = mkdtempSync(join(tmpdir(), 'boatload-cli-'));
  where = { home };
  client = new BoatLoadClient({ url, token: await system.token('admin') });
});

afterAll(async () => {
  rmSync(home, { recursive: true, force: true });
  await system.close();
}, 180000);

async function tarEntries(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readTar(bytes)).map((entry) => [entry.name, entry.body]));
}

describe('without a login', () => {
  test('a verb says how to log in and exits non-zero', async () => {
    const result = await cli(['ps'], where);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('boatload login URL');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('a wrong password is the API message and a non-zero exit', async () => {
    const result = await cli(['login', url, '--username', 'admin', '--password-stdin'], where, 'wrong-password\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: Unable to log in with provided credentials.\n');
  });

  test('without --password-stdin and no terminal, login asks for it', async () => {
    const result = await cli(['login', url, '--username', 'admin'], where);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--password-stdin');
  });
});

describe('logged in', () => {
  beforeAll(async () => {
    const result = await cli(['login', url, '--username', 'admin', '--password-stdin'], where, 'admin\n');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toContain('Logged in');
  });

  test('the token is kept in a 0600 file under XDG_CONFIG_HOME', async () => {
    const path = join(home, '.config', 'boatload', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'boatload')).mode & 0o777).toBe(0o700);
    const config = JSON.parse(readFileSync(path, 'utf8'));
    expect(config.profiles.default).toMatchObject({ url, username: 'admin', token: expect.any(String) });
    const whoami = await cli(['whoami', '--json'], where);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: 'admin', is_admin: true, url });
  });

  test('BOATLOAD_URL and BOATLOAD_TOKEN take the place of a login', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'boatload-cli-env-'));
    try {
      const result = await cli(['whoami'], { home: bare, env: { BOATLOAD_URL: url, BOATLOAD_TOKEN: await system.token('bob') } });
      expect(result).toMatchObject({ code: 0, stdout: `bob at ${url}\n` });
      const refused = await cli(['whoami'], { home: bare, env: { BOATLOAD_URL: url, BOATLOAD_TOKEN: 'not-a-token' } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('boatload login URL');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('run streams a script\'s output and exits with its exit code', async () => {
    const script = join(home, 'job.sh');
    writeFileSync(script, '#!/bin/sh\necho "hello $1 from $NAME"\necho "to stderr" >&2\nexit 3\n');
    const result = await cli(['run', '--env', 'NAME=boatload', script, 'world'], where);
    expect(result.stdout).toBe('hello world from boatload\n');
    expect(result.stderr).toBe('to stderr\n');
    expect(result.code).toBe(3);
  });

  test('run -- CMD runs a command; exit 0', async () => {
    const result = await cli(['run', '--', 'sh', '-c', 'echo one; echo two'], where);
    expect(result).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
  });

  test('run -p publishes the port and says where it is reached; a bad port is the API\'s 400', async () => {
    const result = await cli(['run', '--detach', '--permanent', '-p', '8080', '--hostname', 'web', '--', 'httpd', '-f', '-p', '8080'], where);
    expect(result.code).toBe(0);
    const id = result.stdout.trim();
    try {
      const match = /^port 8080\/tcp -> ([\d.]+):(\d+)$/m.exec(result.stderr);
      expect(match).not.toBeNull();
      const [, hostIp, hostPort] = match as RegExpExecArray;
      // busybox httpd answers (404: it serves no files here): the published port reaches it.
      const answer = await eventually(async () => (await fetch(`http://${hostIp}:${hostPort}/`).catch(() => undefined))?.status);
      expect(answer).toBe(404);
      const state = await client.state(id);
      expect(state.ports).toEqual([{ port: 8080, protocol: 'tcp', host_ip: hostIp, host_port: Number(hostPort) }]);
      expect(state.hostname).toBe('web');
    } finally {
      await client.deleteContainer(id);
    }
    const bad = await cli(['run', '-p', '99999', '--', 'true'], where);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ports.*1-65535/);
  });

  test('run: Ctrl-C stops the container and says so', async () => {
    const before = new Set((await client.listContainers()).map((c) => c.id));
    const child = startCli(['run', '--', 'sh', '-c', 'echo started; sleep 300'], where);
    const done = collect(child);
    const id = await eventually(async () => {
      const fresh = (await client.listContainers()).find((c) => !before.has(c.id) && c.status === 'running');
      return fresh?.id;
    }, 30000, 'the run container');
    // Wait until the output stream is open (its first line printed) before interrupting.
    await eventually(async () => ((await client.stdout(id).then((s) => s.body.toArray())).join('').includes('started') ? true : undefined), 30000, 'its output');
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`Stopped container ${id}`);
    expect((await client.getContainer(id)).status).not.toBe('running');
  });

  describe('a finished container', () => {
    let id: string;
    const expected = Array.from({ length: 20000 }, (_v, i) => `${i + 1}`).join('\n') + '\n';

    beforeAll(async () => {
      const detached = await cli(['run', '--detach', '--', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.3; done; seq 1 20000 > /tmp/numbers.txt; echo done >&2'], where);
      expect(detached.code).toBe(0);
      id = detached.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
    });

    test('logs -f (by a short id) follows the output to the exit', async () => {
      const result = await cli(['logs', '-f', id.slice(0, 8)], where);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('line 1\nline 2\nline 3\ndone\n');
      // It ended because the container did (the record follows the engine a moment later).
      await eventually(async () => ((await client.getContainer(id)).status === 'exited' ? true : undefined), 10000, 'the record to say exited');
      const stderrOnly = await cli(['logs', '--stderr', id], where);
      expect(stderrOnly.stdout).toBe('done\n');
    });

    test('cp copies a changed file byte for byte', async () => {
      await eventually(async () => ((await client.getContainer(id)).status === 'exited' ? true : undefined), 30000, 'exit');
      const dest = join(home, 'copied.txt');
      const result = await cli(['cp', `${id.slice(0, 10)}:/tmp/numbers.txt`, dest], where);
      expect(result).toMatchObject({ code: 0 });
      expect(readFileSync(dest).equals(Buffer.from(expected))).toBe(true);
      const toStdout = await cli(['cp', `${id}:/tmp/numbers.txt`, '-'], where);
      expect(toStdout.stdoutBytes.equals(Buffer.from(expected))).toBe(true);
      const missing = await cli(['cp', `${id}:/tmp/no-such-file`, dest], where);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: /);
    });

    test('archive writes a tar of the changes', async () => {
      const file = join(home, 'changes.tar');
      const result = await cli(['archive', id, '-o', file], where);
      expect(result.code).toBe(0);
      const entries = await tarEntries(readFileSync(file));
      const numbers = [...entries.keys()].find((name) => name.replace(/^\.?\//, '') === 'tmp/numbers.txt');
      expect(numbers).toBeDefined();
      expect(entries.get(numbers as string)?.equals(Buffer.from(expected))).toBe(true);
    });

    test('--json reads parse', async () => {
      const ps = await cli(['ps', '--json'], where);
      expect(ps.code).toBe(0);
      expect(JSON.parse(ps.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id, status: 'exited', exit_code: 0 })]));
      for (const verb of ['inspect', 'state', 'changes', 'files']) {
        const result = await cli([verb, id, '--json'], where);
        expect({ verb, code: result.code }).toEqual({ verb, code: 0 });
        expect(() => JSON.parse(result.stdout)).not.toThrow();
      }
      const inspect = JSON.parse((await cli(['inspect', id], where)).stdout);
      expect(inspect).toMatchObject({ id, container_args: ['sh', '-c', expect.stringContaining('seq 1 20000')] });
      const table = await cli(['ps'], where);
      expect(table.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE/);
      expect(table.stdout).toContain(id.slice(0, 12));
    });

    test('logs --json prints the events as JSON lines, ending with the exit', async () => {
      const result = await cli(['logs', '--json', id], where);
      expect(result.code).toBe(0);
      const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(events.map((e) => [e.event, e.data])).toEqual([
        ['stdout', 'line 1'],
        ['stdout', 'line 2'],
        ['stdout', 'line 3'],
        ['stderr', 'done'],
        ['exit', expect.objectContaining({ exit_code: 0 })],
      ]);
    });

    test('rm removes it; an unknown id is an error', async () => {
      const result = await cli(['rm', id.slice(0, 12)], where);
      expect(result).toMatchObject({ code: 0, stdout: `${id}\n` });
      expect((await client.listContainers()).some((c) => c.id === id)).toBe(false);
      const again = await cli(['rm', id], where);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`No such container: ${id}`);
    });
  });

  test('exec runs a command in a running container and exits with its code', async () => {
    const detached = await cli(['run', '--detach', '--', 'sleep', '300'], where);
    const id = detached.stdout.trim();
    await client.ready(id, 30);
    const result = await cli(['exec', id.slice(0, 8), 'sh', '-c', 'echo $((6 * 7)); echo oops >&2; exit 4'], where);
    expect(result).toMatchObject({ code: 4, stdout: '42\n', stderr: 'oops\n' });
    const json = await cli(['exec', '--json', id, 'echo', 'hi'], where);
    expect(JSON.parse(json.stdout)).toMatchObject({ exit_code: 0, stdout: 'hi\n' });
    await client.deleteContainer(id);
  });

  test('logs --json of a running container without -f says to add -f', async () => {
    const detached = await cli(['run', '--detach', '--', 'sleep', '300'], where);
    const id = detached.stdout.trim();
    await client.ready(id, 30);
    const result = await cli(['logs', '--json', id], where);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('add -f');
    await client.deleteContainer(id);
  });

  test('a bad request is the API message, no stack trace', async () => {
    const result = await cli(['run', '--image', 'no/such-image:nope', '--', 'true'], where);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: .+\n$/);
  });

  test('completion prints a bash script naming the verbs', async () => {
    const result = await cli(['completion', 'bash'], where);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('complete -o default -F _boatload boatload');
    expect(result.stdout).toMatch(/opts="login logout whoami run ps ls/);
  });

  test('logout forgets the token', async () => {
    const other = { home, env: { BOATLOAD_PROFILE: 'second' } };
    const login = await cli(['login', url, '--username', 'admin', '--password-stdin'], other, 'admin');
    expect(login.code).toBe(0);
    // --profile names the same stored login as BOATLOAD_PROFILE.
    expect(await cli(['--profile', 'second', 'whoami'], where)).toMatchObject({ code: 0, stdout: `admin (admin) at ${url}\n` });
    expect(Object.keys(JSON.parse(readFileSync(join(home, '.config', 'boatload', 'config.json'), 'utf8')).profiles).sort()).toEqual(['default', 'second']);
    expect((await cli(['logout'], other)).code).toBe(0);
    const after = await cli(['whoami'], other);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('Not logged in (profile second)');
    // The default profile is untouched.
    expect((await cli(['whoami'], where)).code).toBe(0);
  });
});
