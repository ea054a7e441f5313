/**
 * End to end on the real engine: the fleet API driven exactly as fleetctl v1.0 drives it (the
 * request sequences of shared/notes/fleet-v1-api.md), over the unix socket, as a bare
 * `fleetctl` on the API host would. The real binary is not available here (no Go toolchain, no
 * release downloads); test/support/fleetctl.ts sends what it sends.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capturingLogger } from '../../common/logger';
import { parseUnitFile, serializeUnit, unitHash } from '../../units/unit-file';
import { socketTransport, type FleetTransport } from '../support/fleet-http';
import { Fleetctl, FleetctlError } from '../support/fleetctl';
import { eventually, startSystem, type TestSystem } from '../support/system';

const tag = randomBytes(3).toString('hex');
const socketDir = mkdtempSync(join(tmpdir(), 'boatload-fleet-'));
const socketPath = join(socketDir, 'fleet.sock');
const docker = new Docker();

/** A container that runs until stopped and exits 0 on SIGTERM. */
const LONG_RUNNING = `sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"`;

const serviceFile = (input: { container: string; extra?: string; xfleet?: string; restart?: string }): string =>
  [
    '[Unit]',
    `Description=fleetctl e2e ${input.container}`,
    '',
    '[Service]',
    `ExecStartPre=-/usr/bin/docker kill ${input.container}`,
    `ExecStartPre=-/usr/bin/docker rm ${input.container}`,
    `ExecStart=/usr/bin/docker run --name ${input.container} ${input.extra ?? ''} boatload/base:latest ${LONG_RUNNING}`,
    `ExecStop=/usr/bin/docker stop ${input.container}`,
    `Restart=${input.restart ?? 'always'}`,
    ...(input.xfleet ? ['', '[X-Fleet]', input.xfleet] : []),
    '',
  ].join('\n');

const names = {
  web: `e2e-${tag}-web.service`,
  template: `e2e-${tag}-worker@.service`,
  instance: `e2e-${tag}-worker@1.service`,
  ssd: `e2e-${tag}-ssd.service`,
  first: `e2e-${tag}-first.service`,
  second: `e2e-${tag}-second.service`,
  global: `e2e-${tag}-global.service`,
};
const containers = {
  web: `e2e-${tag}-web`,
  worker: (instance: string) => `e2e-${tag}-worker-${instance}`,
  ssd: `e2e-${tag}-ssd`,
  first: `e2e-${tag}-first`,
  second: `e2e-${tag}-second`,
  global: `e2e-${tag}-global`,
};

const files: Record<string, string> = {
  [names.web]: serviceFile({ container: containers.web, extra: '-e GREETING=hello -l purpose=e2e' }),
  [names.template]: serviceFile({ container: `e2e-${tag}-worker-%i`, extra: '-e INSTANCE=%i -e UNIT=%n' }),
  [names.ssd]: serviceFile({ container: containers.ssd, xfleet: `MachineMetadata=disk=ssd-${tag}` }),
  [names.first]: serviceFile({ container: containers.first }),
  [names.second]: serviceFile({ container: containers.second, xfleet: `Conflicts=${names.first}` }),
  [names.global]: serviceFile({ container: containers.global, xfleet: 'Global=true' }),
};

/** What the API logs, read by the tests of what it says about units going wrong. */
const logger = capturingLogger('api');
let system: TestSystem;
let transport: FleetTransport;
let fleetctl: Fleetctl;

async function engineState(name: string): Promise<{ status: string; labels: Record<string, string>; env: string[] } | null> {
  try {
    const info = await docker.getContainer(name).inspect();
    return { status: info.State.Status, labels: info.Config.Labels ?? {}, env: info.Config.Env ?? [] };
  } catch {
    return null;
  }
}

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_FLEET_SOCKET: socketPath, BOATLOAD_STOP_TIMEOUT_SECONDS: '3' }, { logger });
  transport = socketTransport(socketPath);
  fleetctl = new Fleetctl({ transport, files });
});

afterAll(async () => {
  await system.close();
  rmSync(socketDir, { recursive: true, force: true });
});

describe('one unit through its life, as fleetctl drives it', () => {
  test('submit: GET unit, PUT options without desiredState, poll until inactive', async () => {
    await fleetctl.submit(names.web);
    expect(fleetctl.log.slice(0, 3)).toEqual([`GET /fleet/v1/units/${names.web}`, `PUT /fleet/v1/units/${names.web}`, `GET /fleet/v1/units/${names.web}`]);
    const unit = await fleetctl.getUnit(names.web);
    expect(unit).toEqual({ name: names.web, options: parseUnitFile(files[names.web]), desiredState: 'inactive', currentState: 'inactive' });
    expect(await engineState(containers.web)).toBeNull();
  });

  test('cat prints the unit file as submitted (serialized options)', async () => {
    expect(await fleetctl.cat(names.web)).toBe(serializeUnit(parseUnitFile(files[names.web])));
  });

  test('load: the container is created, not started; currentState loaded', async () => {
    const unit = await fleetctl.load(names.web);
    expect(unit).toMatchObject({ desiredState: 'loaded', currentState: 'loaded' });
    expect(unit.machineID).toMatch(/^[0-9a-f]{32}$/);
    const engine = await engineState(containers.web);
    expect(engine?.status).toBe('created');
    // Both labels, so that this installation's listings (and clean-up) find it.
    expect(engine?.labels).toMatchObject({ 'boatload.instance': system.api.instanceId, 'boatload.unit': names.web, purpose: 'e2e' });
    expect(engine?.env).toContain('GREETING=hello');
    const state = (await transport({ method: 'GET', path: `/fleet/v1/state/${names.web}?alt=json` })).body;
    expect(state).toEqual({
      name: names.web,
      hash: unitHash(parseUnitFile(files[names.web])),
      machineID: unit.machineID,
      systemdLoadState: 'loaded',
      systemdActiveState: 'inactive',
      systemdSubState: 'dead',
    });
  });

  test('start: launched, and GET /state/{name} is loaded/active/running within a second', async () => {
    const started = Date.now();
    const state = await fleetctl.start(names.web);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(state).toMatchObject({ name: names.web, systemdLoadState: 'loaded', systemdActiveState: 'active', systemdSubState: 'running' });
    expect((await engineState(containers.web))?.status).toBe('running');
    // The PUT answered after the start: the very first state read already said active.
    const requests = fleetctl.log.filter((line) => line === `GET /fleet/v1/state/${names.web}`);
    expect(requests.length).toBe(1);
  });

  test('list-units: GET /state then GET /machines', async () => {
    fleetctl.log.length = 0;
    const rows = await fleetctl.listUnits();
    expect(fleetctl.log).toEqual(['GET /fleet/v1/state', 'GET /fleet/v1/machines']);
    const machine = (await fleetctl.listMachines())[0];
    expect(rows).toContainEqual({ unit: names.web, machine: `${machine?.id.slice(0, 8)}/${machine?.primaryIP}`, active: 'active', sub: 'running' });
  });

  test('list-unit-files: GET /units then GET /machines', async () => {
    fleetctl.log.length = 0;
    const rows = await fleetctl.listUnitFiles();
    expect(fleetctl.log).toEqual(['GET /fleet/v1/units', 'GET /fleet/v1/machines']);
    expect(rows).toContainEqual(expect.objectContaining({ unit: names.web, hash: unitHash(parseUnitFile(files[names.web])).slice(0, 7), dstate: 'launched', state: 'launched' }));
  });

  test('list-machines: this host, a 32-hex id, its IP and metadata', async () => {
    fleetctl.log.length = 0;
    const machines = await fleetctl.listMachines();
    expect(fleetctl.log).toEqual(['GET /fleet/v1/machines']);
    expect(machines).toHaveLength(1);
    expect(machines[0]).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), primaryIP: expect.any(String), metadata: { role: 'test' } });
  });

  test('stop: GET /units, PUT loaded, poll; the container is stopped, not removed', async () => {
    fleetctl.log.length = 0;
    const unit = await fleetctl.stop(names.web);
    expect(fleetctl.log.slice(0, 2)).toEqual(['GET /fleet/v1/units', `PUT /fleet/v1/units/${names.web}`]);
    expect(unit.currentState).toBe('loaded');
    expect((await engineState(containers.web))?.status).toBe('exited');
    const state = (await transport({ method: 'GET', path: `/fleet/v1/state/${names.web}?alt=json` })).body;
    expect(state).toMatchObject({ systemdLoadState: 'loaded', systemdActiveState: 'inactive', systemdSubState: 'dead' });
  });

  test('start again after stop runs it again (a fresh container: its ExecStartPre removes the old one)', async () => {
    await fleetctl.start(names.web);
    expect((await engineState(containers.web))?.status).toBe('running');
  });

  test('unload: GET /units, PUT inactive, poll; the container is gone and so is the state', async () => {
    const unit = await fleetctl.unload(names.web);
    expect(unit).toMatchObject({ desiredState: 'inactive', currentState: 'inactive' });
    expect(unit.machineID).toBeUndefined();
    expect(await engineState(containers.web)).toBeNull();
    expect((await transport({ method: 'GET', path: `/fleet/v1/state/${names.web}?alt=json` })).status).toBe(404);
  });

  test('destroy: GET /units, DELETE; the container is removed', async () => {
    await fleetctl.start(names.web);
    expect((await engineState(containers.web))?.status).toBe('running');
    fleetctl.log.length = 0;
    await fleetctl.destroy(names.web);
    expect(fleetctl.log).toEqual(['GET /fleet/v1/units', `DELETE /fleet/v1/units/${names.web}`]);
    expect(await fleetctl.getUnit(names.web)).toBeNull();
    expect(await engineState(containers.web)).toBeNull();
  });
});

describe('templates', () => {
  test('the template is stored and never activated', async () => {
    await fleetctl.submit(names.template);
    const error = await fleetctl.load(names.template).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(FleetctlError);
    expect((error as FleetctlError).message).toMatch(/^googleapi: Error 400: cannot activate template/);
    expect(await fleetctl.getUnit(names.template)).toMatchObject({ desiredState: 'inactive', currentState: 'inactive' });
  });

  test('start foo@1.service copies the template options under the instance name; %i and %n expand', async () => {
    const withoutFiles = new Fleetctl({ transport });
    const state = await withoutFiles.start(names.instance);
    // Names travel percent-encoded, as fleetctl sends them: worker%401.service.
    expect(withoutFiles.log.slice(0, 3)).toEqual([
      `GET /fleet/v1/units/${encodeURIComponent(names.instance)}`,
      `GET /fleet/v1/units/${encodeURIComponent(names.template)}`,
      `PUT /fleet/v1/units/${encodeURIComponent(names.instance)}`,
    ]);
    expect(names.instance).toContain('@');
    expect(state).toMatchObject({ systemdActiveState: 'active', systemdSubState: 'running' });
    const engine = await engineState(containers.worker('1'));
    expect(engine?.status).toBe('running');
    expect(engine?.env).toEqual(expect.arrayContaining(['INSTANCE=1', `UNIT=${names.instance}`]));
    expect((await fleetctl.getUnit(names.instance))?.options).toEqual((await fleetctl.getUnit(names.template))?.options);
    await withoutFiles.destroy(names.instance);
    expect(await engineState(containers.worker('1'))).toBeNull();
  });
});

describe('placement on the local machine', () => {
  test('a unit that needs metadata the machine lacks stays inactive with a reason, until PATCH adds it', async () => {
    await fleetctl.submit(names.ssd);
    const put = await transport({ method: 'PUT', path: `/fleet/v1/units/${names.ssd}?alt=json`, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify({ desiredState: 'launched', name: names.ssd })}\n` });
    expect(put.status).toBe(204);
    const unit = await fleetctl.getUnit(names.ssd);
    expect(unit).toMatchObject({ desiredState: 'launched', currentState: 'inactive', reason: `not placed: no machine matches MachineMetadata disk=ssd-${tag}` });
    expect(unit?.machineID).toBeUndefined();
    expect((await transport({ method: 'GET', path: `/fleet/v1/state/${names.ssd}?alt=json` })).status).toBe(404);
    expect(await engineState(containers.ssd)).toBeNull();

    const [machine] = await fleetctl.listMachines();
    const patch = await transport({
      method: 'PATCH',
      path: '/fleet/v1/machines?alt=json',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([{ op: 'add', path: `/${machine?.id}/metadata/disk`, value: { value: `ssd-${tag}` } }]),
    });
    expect(patch.status).toBe(204);
    expect((await fleetctl.listMachines())[0]?.metadata).toEqual({ role: 'test', disk: `ssd-${tag}` });
    const placed = await fleetctl.getUnit(names.ssd);
    expect(placed).toMatchObject({ desiredState: 'launched', currentState: 'launched', machineID: machine?.id });
    expect(placed?.reason).toBeUndefined();
    expect((await engineState(containers.ssd))?.status).toBe('running');
    await fleetctl.destroy(names.ssd);
  });

  test('Conflicts: the second unit waits while the first runs, and runs once it is destroyed', async () => {
    await fleetctl.start(names.first);
    await fleetctl.submit(names.second);
    await transport({ method: 'PUT', path: `/fleet/v1/units/${names.second}?alt=json`, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify({ desiredState: 'launched', name: names.second })}\n` });
    expect(await fleetctl.getUnit(names.second)).toMatchObject({
      currentState: 'inactive',
      reason: `not placed: every eligible machine runs a unit that conflicts with ${names.second}`,
    });
    expect(await engineState(containers.second)).toBeNull();

    await fleetctl.destroy(names.first);
    await eventually(async () => ((await fleetctl.getUnit(names.second))?.currentState === 'launched' ? true : undefined), 20000, 'the second unit to launch');
    expect((await engineState(containers.second))?.status).toBe('running');
    await fleetctl.destroy(names.second);
    expect(await engineState(containers.second)).toBeNull();
  });

  test('a Global unit runs once on the machine; its unit leaves out currentState and machineID', async () => {
    const state = await fleetctl.start(names.global);
    expect(state).toMatchObject({ systemdActiveState: 'active', machineID: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const unit = await fleetctl.getUnit(names.global);
    expect(unit).toMatchObject({ name: names.global, desiredState: 'launched' });
    expect(unit).not.toHaveProperty('currentState');
    expect(unit).not.toHaveProperty('machineID');
    const listed = (await fleetctl.units()).find((u) => u.name === names.global);
    expect(listed).not.toHaveProperty('currentState');
    const running = await docker.listContainers({ filters: { label: [`boatload.unit=${names.global}`] } });
    expect(running).toHaveLength(1);
    await fleetctl.destroy(names.global);
    expect(await engineState(containers.global)).toBeNull();
  });
});

describe('what a unit may run', () => {
  const submitFile = (name: string, text: string): Promise<unknown> =>
    new Fleetctl({ transport, files: { [name]: text } }).submit(name).catch((err: unknown) => err);

  test('an unsupported docker run flag is a 400 naming it', async () => {
    const error = await submitFile(`e2e-${tag}-priv.service`, serviceFile({ container: `e2e-${tag}-priv`, extra: '--privileged' }));
    expect((error as FleetctlError).message).toBe('googleapi: Error 400: ExecStart: unsupported docker run flag "--privileged"');
  });

  test('--env-file is refused with its reason', async () => {
    const error = await submitFile(`e2e-${tag}-envfile.service`, serviceFile({ container: `e2e-${tag}-envfile`, extra: '--env-file /etc/secrets' }));
    expect((error as FleetctlError).message).toBe('googleapi: Error 400: ExecStart: --env-file reads a file on the host; use -e');
  });

  test('a host command is a 400 naming it', async () => {
    const text = serviceFile({ container: `e2e-${tag}-host` }).replace('[Service]\n', '[Service]\nExecStartPre=/usr/bin/rm -rf /srv/data\n');
    const error = await submitFile(`e2e-${tag}-host.service`, text);
    expect((error as FleetctlError).message).toBe('googleapi: Error 400: ExecStartPre: units may not run host commands: /usr/bin/rm -rf /srv/data');
  });

  test('nothing was stored for refused units', async () => {
    const names = (await fleetctl.units()).map((u) => u.name);
    expect(names.filter((n) => /priv|envfile|host/.test(n))).toEqual([]);
  });
});

describe('start, stop, start again: every start runs ExecStartPre and ExecStart again, as under systemd', () => {
  /** fleet's most common unit form: ExecStartPre removes the container, ExecStart runs it (--rm or not). */
  const cycleFile = (container: string, input: { rm: boolean; removeFirst: boolean }): string =>
    [
      '[Service]',
      ...(input.removeFirst ? [`ExecStartPre=-/usr/bin/docker rm -f ${container}`] : []),
      `ExecStart=/usr/bin/docker run ${input.rm ? '--rm ' : ''}--name ${container} boatload/base:latest ${LONG_RUNNING}`,
      `ExecStop=/usr/bin/docker stop ${container}`,
      '',
    ].join('\n');
  const engineId = async (name: string): Promise<string | null> => docker.getContainer(name).inspect().then((info) => info.Id, () => null);
  const stateOf = async (name: string): Promise<unknown> => (await transport({ method: 'GET', path: `/fleet/v1/state/${name}?alt=json` })).body;

  test.each([
    ['with --rm', { rm: true, removeFirst: true }],
    ['without --rm', { rm: false, removeFirst: true }],
  ])('%s: start, stop, start, stop, destroy; each start is a fresh container, active/running within about a second', async (label, form) => {
    const container = `e2e-${tag}-cycle-${form.rm ? 'rm' : 'keep'}`;
    const name = `${container}.service`;
    const ctl = new Fleetctl({ transport, files: { [name]: cycleFile(container, form) } });
    const ids: string[] = [];
    for (const round of [1, 2]) {
      const started = Date.now();
      const state = await ctl.start(name);
      const took = Date.now() - started;
      expect(state).toMatchObject({ systemdLoadState: 'loaded', systemdActiveState: 'active', systemdSubState: 'running' });
      expect(took).toBeLessThan(3000);
      expect((await engineState(container))?.status).toBe('running');
      ids.push((await engineId(container)) as string);
      console.log(`[fleet cycle] ${label}: start ${round} active/running in ${took} ms`);

      const stopped = await ctl.stop(name);
      expect(stopped).toMatchObject({ desiredState: 'loaded', currentState: 'loaded' });
      expect(await stateOf(name)).toMatchObject({ systemdLoadState: 'loaded', systemdActiveState: 'inactive', systemdSubState: 'dead' });
      // --rm: the engine removes the container once it exited; without it, the container stays.
      if (form.rm) await eventually(async () => ((await engineState(container)) === null ? true : undefined), 5000, 'the --rm container to go');
      else expect((await engineState(container))?.status).toBe('exited');
    }
    expect(ids[1]).not.toBe(ids[0]);
    await ctl.destroy(name);
    expect(await ctl.getUnit(name)).toBeNull();
    expect(await engineState(container)).toBeNull();
  });

  test('a unit whose ExecStartPre does not remove its container starts that same container again', async () => {
    const container = `e2e-${tag}-cycle-same`;
    const name = `${container}.service`;
    const ctl = new Fleetctl({ transport, files: { [name]: cycleFile(container, { rm: false, removeFirst: false }) } });
    await ctl.start(name);
    const first = await engineId(container);
    await ctl.stop(name);
    expect((await engineState(container))?.status).toBe('exited');
    expect(await ctl.start(name)).toMatchObject({ systemdActiveState: 'active', systemdSubState: 'running' });
    expect(await engineId(container)).toBe(first);
    await ctl.destroy(name);
    expect(await engineState(container)).toBeNull();
  });

  test('unload then start runs an ephemeral unit that already ran again', async () => {
    const container = `e2e-${tag}-cycle-unload`;
    const name = `${container}.service`;
    const ctl = new Fleetctl({ transport, files: { [name]: cycleFile(container, { rm: true, removeFirst: true }) } });
    await ctl.start(name);
    await ctl.unload(name);
    expect(await engineState(container)).toBeNull();
    expect(await ctl.start(name)).toMatchObject({ systemdActiveState: 'active', systemdSubState: 'running' });
    await ctl.destroy(name);
    expect(await engineState(container)).toBeNull();
  });
});

describe('the API logs a unit going wrong: one line naming the unit and the reason, once', () => {
  const fileRunning = (container: string, command: string, restart: string): string =>
    [
      '[Service]',
      `ExecStartPre=-/usr/bin/docker rm -f ${container}`,
      `ExecStart=/usr/bin/docker run --name ${container} boatload/base:latest ${command}`,
      `ExecStop=/usr/bin/docker stop ${container}`,
      `Restart=${restart}`,
      '',
    ].join('\n');
  const linesAbout = (name: string): string[] => logger.lines.filter((line) => line.startsWith('WARN') && line.includes(`unit ${name}:`));
  const unitCase = async (suffix: string, command: string, restart: string): Promise<{ name: string; ctl: Fleetctl }> => {
    const container = `e2e-${tag}-${suffix}`;
    const name = `${container}.service`;
    const ctl = new Fleetctl({ transport, files: { [name]: fileRunning(container, command, restart) } });
    await ctl.submit(name);
    await transport({ method: 'PUT', path: `/fleet/v1/units/${name}?alt=json`, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify({ desiredState: 'launched', name })}\n` });
    return { name, ctl };
  };
  // A few state syncs (every 300 ms in tests) after the line appeared: none of them logs again.
  const afterSyncs = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1500));

  test('a container that exits with an error', async () => {
    const { name, ctl } = await unitCase('exit3', 'sh -c "sleep 0.3; exit 3"', 'no');
    await eventually(async () => (linesAbout(name).length > 0 ? true : undefined), 10000, 'the failure to be logged');
    await afterSyncs();
    expect(linesAbout(name)).toEqual([expect.stringMatching(new RegExp(`^WARN \\[api:scheduler\\] unit ${name}: failed: its container exited with code 3$`))]);
    await ctl.destroy(name);
  });

  test('a container in a crash loop', async () => {
    const { name, ctl } = await unitCase('loop', 'sh -c "sleep 0.2; exit 1"', 'always');
    await eventually(async () => (linesAbout(name).length > 0 ? true : undefined), 10000, 'the crash loop to be logged');
    await afterSyncs();
    expect(linesAbout(name)).toEqual([expect.stringContaining(`unit ${name}: crash loop: the engine keeps restarting its container`)]);
    await ctl.destroy(name);
  });

  test('a start the engine refuses', async () => {
    const { name, ctl } = await unitCase('nobinary', '/no/such/binary', 'no');
    expect(linesAbout(name)).toEqual([expect.stringMatching(/start error: .*no such file or directory/)]);
    await afterSyncs();
    expect(linesAbout(name)).toHaveLength(1);
    await ctl.destroy(name);
  });
});
