/**
 * The unit policy over HTTP, on the real engine: a unit PUT through the unit API (the main port
 * as admin, the unix socket) that takes anything from its host is a 400 in fleet's shape naming
 * the flag, and nothing is stored or created; what the administrator allows
 * (BOATLOAD_UNIT_ALLOW_HOST_PATHS, BOATLOAD_UNIT_ALLOW_HOST_NETWORK) runs, and no more. Plus the
 * configuration's validation.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadApiConfig } from '../../api/config';
import { projectRoot } from '../../common/project-root';
import { parseUnitFile } from '../../units/unit-file';
import { socketTransport } from '../support/fleet-http';
import { startSystem, type TestSystem } from '../support/system';

const tag = randomBytes(3).toString('hex');
const workDir = mkdtempSync(join(tmpdir(), 'boatload-unit-policy-'));
const allowedDir = join(workDir, 'allowed');
const socketPath = join(workDir, 'fleet.sock');
const docker = new Docker();

const unit = (container: string, flags: string) =>
  parseUnitFile(`[Service]\nExecStart=/usr/bin/docker run --name ${container} ${flags} boatload/base:latest sleep 1000\n`);

async function put(system: TestSystem, name: string, body: unknown) {
  const admin = await system.token('admin');
  return system.http().put(`/fleet/v1/units/${name}`).set('Authorization', `JWT ${admin}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
}

async function engineHas(name: string): Promise<boolean> {
  return (await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } })).length > 0;
}

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const OWN_UNITS = ['api.service', 'satellite.service', 'satellite-discovery.service', 'proxy.service'];
const ownUnit = (name: string) => parseUnitFile(readFileSync(join(projectRoot(), 'units', name), 'utf8'));

describe('the default policy: nothing from the host', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ BOATLOAD_FLEET_SOCKET: socketPath });
  });
  afterAll(async () => {
    await system.close();
  });

  // Each: docker run flags, and what the 400 must name.
  const HOSTILE: Array<[string, string]> = [
    ['-v /:/host', '-v /:/host'],
    ['--volume=/:/host', '-v /:/host'],
    ['-v /var/run/docker.sock:/var/run/docker.sock', '-v /var/run/docker.sock:/var/run/docker.sock'],
    ['-v /etc:/host-etc:ro', '-v /etc:/host-etc'],
    ['-v /proc/1/root:/h', '-v /proc/1/root:/h'],
    ['-v /tmp/../:/h', '-v /tmp/../:/h'],
    ['-v data:/data -v /root:/r', '-v /root:/r'],
    ['--network host', '--network host'],
    ['--net=host', '--network host'],
    ['--privileged', '--privileged'],
    ['--cap-add SYS_ADMIN', '--cap-add'],
    ['--device /dev/sda', '--device'],
    ['--pid host', '--pid'],
    ['--ipc=host', '--ipc'],
    ['--uts host', '--uts'],
    ['--userns host', '--userns'],
    ['--security-opt seccomp=unconfined', '--security-opt'],
    ['--mount type=bind,source=/,target=/host', '--mount'],
    ['--volumes-from boatload-api', '--volumes-from'],
    ['--network container:boatload-api', 'container:boatload-api'],
  ];

  test.each(HOSTILE)('PUT of a unit with %s: 400 naming the flag, nothing stored or created', async (flags, named) => {
    const name = `hp-${tag}-${HOSTILE.findIndex(([f]) => f === flags)}`;
    const res = await put(system, `${name}.service`, { desiredState: 'launched', options: unit(name, flags) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 400, message: expect.stringContaining(named) } });
    expect(res.body.error.message).toMatch(/^ExecStart: /);
    const admin = await system.token('admin');
    await system.http().get(`/fleet/v1/units/${name}.service`).set('Authorization', `JWT ${admin}`).expect(404);
    expect(await engineHas(name)).toBe(false);
  });

  test('the unix socket applies the same policy', async () => {
    const name = `hp-${tag}-sock`;
    const body = `${JSON.stringify({ options: unit(name, '-v /:/host') })}\n`;
    const res = await socketTransport(socketPath)({ method: 'PUT', path: `/fleet/v1/units/${name}.service`, headers: { 'Content-Type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 400, message: expect.stringMatching(/^ExecStart: -v \/:\/host bind-mounts the host path "\/"/) } });
  });

  test('changing a unit to one that takes from the host is refused too; the unit stays as it was', async () => {
    const name = `hp-${tag}-change`;
    expect((await put(system, `${name}.service`, { options: unit(name, `-v data-${tag}:/data`) })).status).toBe(201);
    const res = await put(system, `${name}.service`, { options: unit(name, '--network host') });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('--network host');
    const admin = await system.token('admin');
    const stored = await system.http().get(`/fleet/v1/units/${name}.service`).set('Authorization', `JWT ${admin}`).expect(200);
    expect(JSON.stringify(stored.body.options)).toContain(`data-${tag}:/data`);
    await system.http().delete(`/fleet/v1/units/${name}.service`).set('Authorization', `JWT ${admin}`).expect(204);
    await docker.getVolume(`data-${tag}`).remove().catch(() => undefined);
  });

  test.each(OWN_UNITS)("BoatLoad's own %s is refused without the documented policy", async (name) => {
    const res = await put(system, name, { options: ownUnit(name) });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^ExecStart: (-v \/|--network host)/);
  });

  test('named volumes and the default network need no permission: the unit runs', async () => {
    const name = `hp-${tag}-plain`;
    const res = await put(system, `${name}.service`, { desiredState: 'launched', options: unit(name, `-v vol-${tag}:/data --network bridge`) });
    expect(res.status).toBe(201);
    const inspect = await docker.getContainer(name).inspect();
    expect(inspect.State.Running).toBe(true);
    const admin = await system.token('admin');
    await system.http().delete(`/fleet/v1/units/${name}.service`).set('Authorization', `JWT ${admin}`).expect(204);
    await docker.getVolume(`vol-${tag}`).remove().catch(() => undefined);
  });
});

describe('a policy that allows one directory and the host network', () => {
  let system: TestSystem;
  beforeAll(async () => {
    mkdirSync(join(allowedDir, 'sub'), { recursive: true });
    writeFileSync(join(allowedDir, 'sub', 'hello.txt'), 'from the host\n');
    mkdirSync(`${allowedDir}base`, { recursive: true });
    system = await startSystem({ BOATLOAD_UNIT_ALLOW_HOST_PATHS: `${allowedDir},/nonexistent/other`, BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'true' });
  });
  afterAll(async () => {
    await system.close();
  });

  test('a unit mounting a directory below the allowed one, on the host network, runs with exactly that', async () => {
    const name = `ha-${tag}-ok`;
    const res = await put(system, `${name}.service`, { desiredState: 'launched', options: unit(name, `-v ${allowedDir}/sub:/data:ro --network host`) });
    expect(res.status).toBe(201);
    const inspect = await docker.getContainer(name).inspect();
    expect(inspect.State.Running).toBe(true);
    expect(inspect.HostConfig.NetworkMode).toBe('host');
    expect(inspect.HostConfig.Binds).toEqual([`${allowedDir}/sub:/data:ro`]);
    const admin = await system.token('admin');
    await system.http().delete(`/fleet/v1/units/${name}.service`).set('Authorization', `JWT ${admin}`).expect(204);
  });

  test.each([
    ['a sibling whose name starts with the allowed one', () => `-v ${allowedDir}base:/data`, () => `host path "${allowedDir}base"`],
    ['the allowed directory\'s parent, through ..', () => `-v ${allowedDir}/..:/data`, () => `host path "${workDir}"`],
    ['the host root', () => '-v /:/host', () => 'host path "/"'],
  ])('%s is still refused', async (_what, flags, named) => {
    const name = `ha-${tag}-${randomBytes(2).toString('hex')}`;
    const res = await put(system, `${name}.service`, { desiredState: 'launched', options: unit(name, flags()) });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(named());
    expect(res.body.error.message).toContain(`allowed: ${allowedDir}, /nonexistent/other`);
    expect(await engineHas(name)).toBe(false);
  });
});

describe("the policy README documents for BoatLoad's own units", () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ BOATLOAD_UNIT_ALLOW_HOST_PATHS: '/var/run/docker.sock,/etc/boatload,/var/run/boatload', BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'true' });
  });
  afterAll(async () => {
    await system.close();
  });

  test('accepts the four units (submitted, not started)', async () => {
    for (const name of OWN_UNITS) expect((await put(system, name, { options: ownUnit(name) })).status).toBe(201);
  });

  test('and nothing more: another host path is refused', async () => {
    const name = `hd-${tag}`;
    const res = await put(system, `${name}.service`, { options: unit(name, '-v /etc:/etc:ro') });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('host path "/etc"');
  });
});

describe('configuration', () => {
  const base = { SATELLITE_URL: 'http://127.0.0.1:8001', SATELLITE_SECRET: 'x'.repeat(32) };
  const policy = (env: Record<string, string>) => loadApiConfig({ ...base, ...env }, { isRoot: false }).unitPolicy;

  test('by default nothing is allowed', () => {
    expect(policy({})).toEqual({ hostPaths: [], hostNetwork: false });
  });

  test('paths are normalized, deduplicated, spaces and empty items ignored; the switch reads booleans', () => {
    expect(policy({ BOATLOAD_UNIT_ALLOW_HOST_PATHS: ' /srv/data/ , /var/log,,/srv//data', BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'true' })).toEqual({
      hostPaths: ['/srv/data', '/var/log'],
      hostNetwork: true,
    });
    expect(policy({ BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'false' }).hostNetwork).toBe(false);
  });

  test.each([
    [{ BOATLOAD_UNIT_ALLOW_HOST_PATHS: 'srv/data' }, /BOATLOAD_UNIT_ALLOW_HOST_PATHS must be a comma-separated list of absolute host paths: "srv\/data" is not an absolute path/],
    [{ BOATLOAD_UNIT_ALLOW_HOST_PATHS: '/srv/data:/x' }, /BOATLOAD_UNIT_ALLOW_HOST_PATHS .*cannot contain ":"/],
    [{ BOATLOAD_UNIT_ALLOW_HOST_PATHS: '/ok,~/data' }, /BOATLOAD_UNIT_ALLOW_HOST_PATHS .*"~\/data" is not an absolute path/],
    [{ BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'maybe' }, /BOATLOAD_UNIT_ALLOW_HOST_NETWORK must be true or false/],
  ])('%j fails naming the variable', (env, message) => {
    expect(() => policy(env)).toThrow(ConfigError);
    expect(() => policy(env)).toThrow(message);
  });
});
