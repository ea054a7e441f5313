/**
 * Scripts reach their containers either as bind-mounted host files (the default) or copied into the
 * container (SATELLITE_SCRIPT_DIR=off): both run the same, and a host file goes with its container.
 */
import Docker from 'dockerode';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptySpec } from '../../common/container-spec';
import type { HostEngine } from '../../satellite/host-engine';
import { ScriptFiles } from '../../satellite/script-files';
import { testHostEngine } from '../support/host-engine';

const docker = new Docker();
const dir = mkdtempSync(join(tmpdir(), 'boatload-scripts-test-'));
const tag = `${process.pid}-${Date.now().toString(36)}`;
const made: string[] = [];

const engineWith = (scripts: ScriptFiles | undefined): HostEngine => testHostEngine(docker, scripts);

async function runScript(engine: HostEngine, name: string): Promise<string> {
  made.push(name);
  const script = '#!/bin/sh\necho "hello from $0"\n';
  await engine.create({
    spec: { ...emptySpec(name, 'boatload/base:latest'), cmd: ['/boatload/hello.sh'] },
    script: { path: '/boatload/hello.sh', contentBase64: Buffer.from(script).toString('base64') },
  });
  const container = docker.getContainer(name);
  await container.start();
  await container.wait();
  const logs = await container.logs({ stdout: true, stderr: true });
  return logs.subarray(8).toString();
}

afterAll(async () => {
  for (const name of made) await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('a script staged as a host file runs, is read-only, and goes with its container', async () => {
  const engine = engineWith(new ScriptFiles(dir));
  const name = `bl-script-host-${tag}`;
  expect(await runScript(engine, name)).toBe('hello from /boatload/hello.sh\n');
  expect(existsSync(join(dir, name, 'script'))).toBe(true);
  const info = await docker.getContainer(name).inspect();
  expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Destination: '/boatload/hello.sh', RW: false })]);
  await engine.remove(name);
  expect(existsSync(join(dir, name))).toBe(false);
});

test('a script copied into the container runs the same', async () => {
  const engine = engineWith(undefined);
  const name = `bl-script-copy-${tag}`;
  expect(await runScript(engine, name)).toBe('hello from /boatload/hello.sh\n');
  const info = await docker.getContainer(name).inspect();
  expect(info.Mounts).toEqual([]);
  await engine.remove(name);
});

test('a failed create leaves no script behind', async () => {
  const engine = engineWith(new ScriptFiles(dir));
  const name = `bl-script-fail-${tag}`;
  await expect(
    engine.create({
      spec: { ...emptySpec(name, 'boatload/no-such-image:latest'), cmd: ['/boatload/x'] },
      script: { path: '/boatload/x', contentBase64: Buffer.from('#!/bin/sh\n').toString('base64') },
    }),
  ).rejects.toMatchObject({ status: 400 });
  expect(existsSync(join(dir, name))).toBe(false);
});

test('a sweep removes the scripts of containers that are gone, and only those', async () => {
  const scripts = new ScriptFiles(dir, 0);
  const engine = engineWith(scripts);
  const kept = `bl-script-kept-${tag}`;
  await runScript(engine, kept);
  const orphan = `bl-script-orphan-${tag}`;
  mkdirSync(join(dir, orphan));
  expect(await scripts.sweep(new Set([kept]))).toBe(1);
  expect(existsSync(join(dir, orphan))).toBe(false);
  expect(existsSync(join(dir, kept, 'script'))).toBe(true);
});
