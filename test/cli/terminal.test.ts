/**
 * The CLI on a real terminal (a pseudo-terminal from util-linux `script`) against the real system:
 * progress bars and wait lines show there and never in a pipe; `exec -it` gets a real terminal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoatLoadClient } from '../../client';
import { eventually } from '../support/system';
import { cli, cliInTerminal, startCliSystem, typeInTerminal, type CliHome, type CliSystem } from './run-cli';

let started: CliSystem;
let home: string;
let where: CliHome;
let client: BoatLoadClient;
/** A finished container with a 1 MB file in it. */
let finishedId: string;

beforeAll(async () => {
  started = await startCliSystem('boatload-cli-tty-');
  ({ where, client } = started);
  home = where.home;
  const created = await client.createContainer({ container_args: ['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" x > /tmp/big.txt'] });
  finishedId = created.id;
  await eventually(async () => ((await client.getContainer(finishedId)).status === 'exited' ? true : undefined), 30000, 'the file container to exit');
});

afterAll(() => started.close(), 180000);

/** A script of about 300 KB (comments), so that its upload is a real transfer. */
function bigScript(): string {
  const file = join(home, 'upload.sh');
  writeFileSync(file, `#!/bin/sh\n${'# padding padding padding padding padding padding padding\n'.repeat(5000)}echo "ran $1"\nexit 7\n`);
  return file;
}

describe('progress', () => {
  test('run on a terminal: an upload bar and a wait line, then the output and the exit code', async () => {
    const result = await cliInTerminal(['run', bigScript(), 'there'], where);
    expect(result.code).toBe(7);
    expect(result.stdout).toMatch(/Uploading upload\.sh \[#{30}\] 100% /);
    expect(result.stdout).toContain('Starting container ');
    expect(result.stdout).toContain('ran there\r\n');
  });

  test('run in a pipe: only the output', async () => {
    const result = await cli(['run', bigScript(), 'there'], where);
    expect(result).toMatchObject({ code: 7, stdout: 'ran there\n', stderr: '' });
  });

  test('cp and archive on a terminal draw a bar; in a pipe nothing', async () => {
    const copied = join(home, 'big.txt');
    const shown = await cliInTerminal(['cp', `${finishedId}:/tmp/big.txt`, copied], where);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/big\.txt \[#{30}\] 100% 976\.6 KiB\/976\.6 KiB/);
    expect(readFileSync(copied).length).toBe(1000000);

    const quiet = await cli(['cp', `${finishedId}:/tmp/big.txt`, copied], where);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });

    const tarFile = join(home, 'changes.tar');
    const archived = await cliInTerminal(['archive', finishedId, '-o', tarFile], where);
    expect(archived.code).toBe(0);
    expect(archived.stdout).toMatch(/changes\.tar (\[#{30}\] 100% )?\d/);
    const plain = await cli(['archive', finishedId, '-o', tarFile], where);
    expect(plain).toMatchObject({ code: 0, stdout: '', stderr: `${tarFile}\n` });
  });

  test('a wait for an operation ticks on a terminal; in a pipe only the id', async () => {
    const created = await client.createContainer({ container_args: ['sleep', '300'] }, { waitReady: true, timeoutSeconds: 30 });
    const shown = await cliInTerminal(['stop', created.id], where);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Waiting for stop \(operation [0-9a-f-]{8}\)\.\.\. [|/\\-] \d+s/);
    const quiet = await cli(['start', created.id], where);
    expect(quiet).toMatchObject({ code: 0, stdout: `${created.id}\n`, stderr: '' });
    await client.deleteContainer(created.id);
  });
});

describe('run and Ctrl-C', () => {
  test('Ctrl-C typed on the terminal stops the container, says so and exits 130', async () => {
    const before = new Set((await client.listContainers()).map((c) => c.id));
    // The terminal turns ^C into SIGINT for the foreground process, as for a person's key press.
    const result = await typeInTerminal(['run', '--', 'sh', '-c', 'echo started; sleep 300'], where, { after: 'started', keys: '\x03' });
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/Stopping container [0-9a-f]{12} \(Ctrl-C again to leave it running\)/);
    const id = /Stopped container ([0-9a-f]{32})\./.exec(result.stdout)?.[1];
    expect(id).toBeDefined();
    expect(before.has(id as string)).toBe(false);
    expect((await client.getContainer(id as string)).status).not.toBe('running');
    await client.deleteContainer(id as string);
  });
});

describe('exec -it', () => {
  test('is a real terminal: a pts with a line discipline, typed input in, the exit code out', async () => {
    const created = await client.createContainer({ container_args: ['sleep', '300'] }, { waitReady: true, timeoutSeconds: 30 });
    // Typed once the remote side has answered (its tty line).
    const result = await typeInTerminal(['exec', '-it', created.id, 'sh', '-c', 'tty; stty -a 2>/dev/null; read line; echo "got [$line]"; exit 5'], where, { after: '/dev/pts/', keys: 'hello\r' });
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(/\/dev\/pts\/\d+/);
    // The remote side is a terminal with its modes (busybox stty on this engine cannot read the
    // window size: TIOCGWINSZ fails inside the container, so the size is not asserted).
    expect(result.stdout).toMatch(/isig icanon iexten echo/);
    // The remote terminal echoed what was typed (ours, raw, did not), then the shell read it.
    expect(result.stdout).toMatch(/\nhello\r*\ngot \[hello\]\r*\n/);
    await client.deleteContainer(created.id);
  });
});
