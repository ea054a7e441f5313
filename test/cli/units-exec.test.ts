/** `boatload units ...` (fleetctl-like) and `boatload exec -it` (the terminal), spawned as a user would. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoatLoadClient } from '../../client';
import { cli, startCliSystem, type CliHome, type CliSystem } from './run-cli';

let started: CliSystem;
let home: string;
let where: CliHome;
let client: BoatLoadClient;

beforeAll(async () => {
  started = await startCliSystem('boatload-cli-units-');
  ({ where, client } = started);
  home = where.home;
});

afterAll(() => started.close(), 180000);

test('units submit, start, list, status, cat, stop, destroy', async () => {
  const file = join(home, 'cli-hello.service');
  writeFileSync(file, '# a comment\n[Unit]\nDescription=hello\n\n[Service]\nExecStart=/usr/bin/docker run --rm \\\n  boatload/base:latest sleep 120\n');
  expect(await cli(['units', 'submit', file], where)).toMatchObject({ code: 0, stdout: 'Unit cli-hello.service submitted\n' });
  expect((await cli(['units', 'start', 'cli-hello.service'], where)).code).toBe(0);

  const list = await cli(['units', 'list'], where);
  expect(list.code).toBe(0);
  const [header, ...rows] = list.stdout.trim().split('\n');
  expect(header).toMatch(/^UNIT\s+MACHINE\s+DESIRED\s+CURRENT\s+ACTIVE\s+SUB$/);
  expect(rows.find((row) => row.startsWith('cli-hello.service'))).toMatch(/^cli-hello\.service\s+[0-9a-f]{8}\.\.\.\s+launched\s+launched\s+active\s+running$/);
  expect(JSON.parse((await cli(['units', 'list', '--json'], where)).stdout).units).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'cli-hello.service' })]));

  const status = await cli(['units', 'status', 'cli-hello.service'], where);
  expect(status.stdout).toContain('Current: launched');
  expect(status.stdout).toContain('Active: active (running)');
  const cat = await cli(['units', 'cat', 'cli-hello.service'], where);
  // Parsed as systemd (and the API) parse it: the continuation's backslash becomes a space, the
  // spaces around it stay.
  expect(cat.stdout).toBe('[Unit]\nDescription=hello\n\n[Service]\nExecStart=/usr/bin/docker run --rm    boatload/base:latest sleep 120\n');

  expect((await cli(['units', 'stop', 'cli-hello.service'], where)).code).toBe(0);
  expect((await client.getUnit('cli-hello.service')).currentState).toBe('loaded');
  expect(await cli(['units', 'destroy', 'cli-hello.service'], where)).toMatchObject({ code: 0, stdout: 'Destroyed cli-hello.service\n' });
  const gone = await cli(['units', 'status', 'cli-hello.service'], where);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toBe('Error: unit does not exist\n');
});

test('units submit refuses a file that is not a unit file, naming the line', async () => {
  const file = join(home, 'broken.service');
  writeFileSync(file, 'ExecStart=/bin/true\n');
  const result = await cli(['units', 'submit', file], where);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`Error: ${file}: line 1: option "ExecStart" appears before any [Section]\n`);
});

test('exec -it runs a terminal: stdin in, output out, its exit code ours', async () => {
  const created = await client.createContainer({ container_args: ['sleep', '300'] }, { waitReady: true, timeoutSeconds: 30 });
  const result = await cli(['exec', '-it', created.id.slice(0, 10)], where, 'echo "six times seven is $((6 * 7))"\nexit 3\n');
  expect(result.stdout).toContain('six times seven is 42');
  expect(result.code).toBe(3);
  const refused = await cli(['exec', '-i', created.id, 'sh'], where);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('-it');
  await client.deleteContainer(created.id);
});
