/**
 * The scheduler's decisions, fast, against fakes at its own ports (fakes.ts: a FakeHost behind the
 * real LocalBackend, a MemoryUnitStore): convergence, replanning, placement refusals, starts, stops,
 * restarts, lost containers and backend errors. The real-engine suites test the same paths end to
 * end (test/api/fleet-fleetctl.test.ts, sandbox-operations.test.ts).
 */
import { BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError } from '../../../common/errors';
import { systemdStateOf } from '../../../units/scheduler/unit-status';
import { schedulerOnFakes, unitFile } from './fakes';

const active = { loadState: 'loaded', activeState: 'active', subState: 'running' };
const dead = { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
const failed = { loadState: 'loaded', activeState: 'failed', subState: 'failed' };

describe('convergence', () => {
  test('a launched unit gets its container created and started, on the host machine', async () => {
    const { scheduler, host, add, unit } = schedulerOnFakes();
    await add('web.service', unitFile('web'), { desiredState: 'launched' });
    const converged = await scheduler.converge('web.service');
    expect(converged).toMatchObject({ currentState: 'launched', machineId: 'a'.repeat(32), everStarted: true, reason: null });
    expect(systemdStateOf(converged)).toEqual(active);
    expect(host.calls.filter((call) => !call.startsWith('machine'))).toEqual(['create web', 'start web']);
    expect(unit('web.service').observed?.status).toBe('running');
  });

  test('loaded: created, not started; launched then starts that same container', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('web.service', unitFile('web'));
    await scheduler.setDesiredState('web.service', 'loaded');
    expect(host.containers.get('web')?.state.Status).toBe('created');
    const id = host.engineIdOf('web');
    const started = await scheduler.setDesiredState('web.service', 'launched');
    expect(systemdStateOf(started)).toEqual(active);
    // Never started: as fresh as a new one, so not replaced.
    expect(host.engineIdOf('web')).toBe(id);
  });

  test('inactive removes the container; a destroyed unit is gone from the store', async () => {
    const { scheduler, host, add, store } = schedulerOnFakes();
    await add('web.service', unitFile('web'), { desiredState: 'launched' });
    await scheduler.converge('web.service');
    expect((await scheduler.setDesiredState('web.service', 'inactive')).machineId).toBeNull();
    expect(host.containers.has('web')).toBe(false);
    await scheduler.destroy('web.service');
    expect(await store.get('web.service')).toBeUndefined();
  });

  test('converging a launched unit again does not re-run an ephemeral container that finished', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('job.service', unitFile('job'), { desiredState: 'launched' });
    await scheduler.converge('job.service');
    host.exit('job', 0);
    host.calls.length = 0;
    await scheduler.reconcileAll();
    expect(host.calls).not.toContain('start job');
    expect(systemdStateOf(await scheduler.converge('job.service'))).toEqual(dead);
  });

  test('a container the engine refuses to start: the unit is failed with the reason, the converge itself succeeds', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    host.refusesStart.set('bad', 'exec format error');
    await add('bad.service', unitFile('bad'), { desiredState: 'launched' });
    const unit = await scheduler.converge('bad.service');
    expect(unit.reason).toBe('exec format error');
    expect(systemdStateOf(unit)).toEqual(failed);
  });
});

describe('lost containers', () => {
  test('a permanent container that vanished is made again by the next converge', async () => {
    const { scheduler, host, add, unit } = schedulerOnFakes();
    await add('web.service', unitFile('web', { restart: 'always' }), { desiredState: 'launched' });
    await scheduler.converge('web.service');
    const before = host.engineIdOf('web');
    host.lose('web');
    await scheduler.syncObservations();
    expect(unit('web.service').observed?.status).toBe('missing');
    await scheduler.reconcileAll();
    expect(unit('web.service').observed?.status).toBe('running');
    expect(host.engineIdOf('web')).not.toBe(before);
  });

  test('an ephemeral one is lost (failed), not re-run, until it is started again', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('job.service', unitFile('job'), { desiredState: 'launched' });
    await scheduler.converge('job.service');
    host.lose('job');
    const lost = await scheduler.converge('job.service');
    expect(lost.reason).toBe('the container disappeared from the engine');
    expect(systemdStateOf(lost)).toEqual(failed);
    expect(host.containers.has('job')).toBe(false);
    const started = await scheduler.start('job.service');
    expect(systemdStateOf(started)).toEqual(active);
    expect(started.reason).toBeNull();
  });

  test('an --rm container that finished is inactive/dead, not lost', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('rm.service', unitFile('rm', { rm: true }), { desiredState: 'launched' });
    await scheduler.converge('rm.service');
    host.exit('rm', 0);
    await scheduler.syncObservations();
    const unit = await scheduler.converge('rm.service');
    expect(unit.reason).toBeNull();
    expect(systemdStateOf(unit)).toEqual(dead);
  });
});

describe('placement', () => {
  test('a unit no machine matches stays inactive with the reason and no container; replan runs it once one does', async () => {
    const fakes = schedulerOnFakes();
    const { scheduler, host, add } = fakes;
    await add('ssd.service', unitFile('ssd', { xfleet: ['MachineMetadata=disk=ssd'] }), { desiredState: 'launched' });
    const refused = await scheduler.converge('ssd.service');
    expect(refused).toMatchObject({ currentState: 'inactive', machineId: null, reason: 'not placed: no machine matches MachineMetadata disk=ssd' });
    expect(host.calls.some((call) => call.startsWith('create'))).toBe(false);
    await expect(scheduler.start('ssd.service')).rejects.toBeInstanceOf(ServiceUnavailableError);

    fakes.machines = [{ id: 'a'.repeat(32), primaryIP: '10.0.0.1', metadata: { disk: 'ssd' } }];
    await scheduler.replan();
    expect(fakes.unit('ssd.service')).toMatchObject({ currentState: 'launched', machineId: 'a'.repeat(32), reason: null });
    expect(host.containers.get('ssd')?.state.Status).toBe('running');
  });

  test('Conflicts: the second unit waits while the first is placed, and runs after the first is destroyed', async () => {
    const { scheduler, host, add, unit } = schedulerOnFakes();
    await add('first.service', unitFile('first'), { desiredState: 'launched' });
    await add('second.service', unitFile('second', { xfleet: ['Conflicts=first.service'] }), { desiredState: 'launched' });
    await scheduler.converge('first.service');
    expect((await scheduler.converge('second.service')).reason).toMatch(/^not placed: every eligible machine runs a unit that conflicts/);
    expect(host.containers.has('second')).toBe(false);
    await scheduler.destroy('first.service');
    await scheduler.replan();
    expect(unit('second.service')).toMatchObject({ currentState: 'launched', reason: null });
  });
});

describe('start, stop, restart', () => {
  test('fleet form (ExecStartPre removes the container): every start after a stop is a fresh container', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('web.service', unitFile('web'));
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      expect(systemdStateOf(await scheduler.start('web.service'))).toEqual(active);
      ids.push(host.engineIdOf('web') as string);
      const stopped = await scheduler.stop('web.service');
      expect(stopped).toMatchObject({ desiredState: 'loaded', currentState: 'loaded' });
      expect(systemdStateOf(stopped)).toEqual(dead);
    }
    expect(new Set(ids).size).toBe(3);
  });

  test('with --rm: the stop leaves no container, the next start makes one from the spec', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('rm.service', unitFile('rm', { rm: true }));
    await scheduler.start('rm.service');
    expect(systemdStateOf(await scheduler.stop('rm.service'))).toEqual(dead);
    expect(host.containers.has('rm')).toBe(false);
    // The desired-state path (fleetctl start) does the same as Scheduler.start.
    const again = await scheduler.setDesiredState('rm.service', 'launched');
    expect(systemdStateOf(again)).toEqual(active);
    expect(again.reason).toBeNull();
  });

  test('without an ExecStartPre that removes it, a start runs the same container again', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('same.service', unitFile('same', { removeFirst: false }));
    await scheduler.start('same.service');
    const id = host.engineIdOf('same');
    await scheduler.stop('same.service');
    await scheduler.start('same.service');
    expect(host.engineIdOf('same')).toBe(id);
    expect(host.containers.get('same')?.state.Status).toBe('running');
  });

  test('a /v1/container/ record runs its own container again (files and output kept), even an ephemeral one that finished', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('box.service', unitFile('box'), { containerId: 'f'.repeat(32) });
    await scheduler.start('box.service');
    const id = host.engineIdOf('box');
    host.exit('box', 0);
    await scheduler.syncObservations();
    expect(systemdStateOf(await scheduler.start('box.service'))).toEqual(active);
    expect(host.engineIdOf('box')).toBe(id);
  });

  test('start of a running unit leaves it running (no new container, no second start)', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('web.service', unitFile('web'));
    await scheduler.start('web.service');
    host.calls.length = 0;
    await scheduler.start('web.service');
    expect(host.calls).toEqual(['inspect web']);
  });

  test('restart stops the running container and starts it again (fleet form: a fresh one)', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('web.service', unitFile('web', { removeFirst: false }));
    await add('fresh.service', unitFile('fresh'));
    await scheduler.start('web.service');
    await scheduler.start('fresh.service');
    const before = { web: host.containers.get('web')?.state.StartedAt, fresh: host.engineIdOf('fresh') };
    host.calls.length = 0;
    const restarted = await scheduler.restart('web.service');
    expect(host.calls).toEqual(['inspect web', 'stop web', 'inspect web', 'start web']);
    expect(systemdStateOf(restarted)).toEqual(active);
    expect(host.containers.get('web')?.state.StartedAt).not.toBe(before.web);
    await scheduler.restart('fresh.service');
    expect(host.engineIdOf('fresh')).not.toBe(before.fresh);
    expect(host.containers.get('fresh')?.state.Status).toBe('running');
  });

  test('domain errors: no such unit, a template, an engine that refuses the start', async () => {
    const { scheduler, host, add, unit } = schedulerOnFakes();
    await expect(scheduler.start('nope.service')).rejects.toBeInstanceOf(NotFoundError);
    await expect(scheduler.stop('nope.service')).rejects.toBeInstanceOf(NotFoundError);
    await add('tmpl@.service', unitFile('tmpl-%i'));
    await expect(scheduler.start('tmpl@.service')).rejects.toBeInstanceOf(BadRequestError);
    await add('bad.service', unitFile('bad'));
    host.refusesStart.set('bad', 'exec format error');
    const refused = await scheduler.start('bad.service').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toBe('bad.service did not start: exec format error');
    expect(unit('bad.service')).toMatchObject({ desiredState: 'launched', reason: 'exec format error' });
  });
});

describe('backend errors', () => {
  test('an unreachable host: the failure is recorded on the unit and rethrown; the next converge recovers', async () => {
    const { scheduler, host, add, unit } = schedulerOnFakes();
    await add('web.service', unitFile('web'), { desiredState: 'launched' });
    host.down = true;
    await expect(scheduler.converge('web.service')).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(unit('web.service')).toMatchObject({ currentState: 'inactive', reason: expect.stringMatching(/unavailable/) });
    host.down = false;
    const recovered = await scheduler.converge('web.service');
    expect(recovered).toMatchObject({ currentState: 'launched', reason: null });
    expect(systemdStateOf(recovered)).toEqual(active);
  });

  test('a container of that name BoatLoad did not create is never touched', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await host.create({ spec: { name: 'web', image: 'x', env: {}, labels: {}, restart: 'no', autoRemove: false, ports: [], volumes: [] } });
    await add('web.service', unitFile('web'), { desiredState: 'launched' });
    await expect(scheduler.converge('web.service')).rejects.toBeInstanceOf(ConflictError);
    await expect(scheduler.start('web.service')).rejects.toThrow(/did not create/);
    expect(host.calls).not.toContain('remove web');
    expect(host.calls).not.toContain('start web');
  });

  test('work on one unit is serialized: a stop asked during a start runs after it', async () => {
    const { scheduler, host, add } = schedulerOnFakes();
    await add('web.service', unitFile('web'));
    const [started, stopped] = await Promise.all([scheduler.start('web.service'), scheduler.stop('web.service')]);
    expect(started.currentState).toBe('launched');
    expect(stopped.currentState).toBe('loaded');
    expect(host.containers.get('web')?.state.Status).toBe('exited');
  });
});

describe('writes outside a unit\'s work (the store is asynchronous)', () => {
  test('work asked for while the state sync commits starts after it: the sync never writes an older observation over the work\'s', async () => {
    const { scheduler, host, add, store, unit } = schedulerOnFakes();
    await add('job.service', unitFile('job'), { desiredState: 'launched' });
    await scheduler.converge('job.service');
    host.exit('job', 1);
    // Fault injection: the sync's commit is slow (a remote store), held until the test lets it land.
    let land!: () => void;
    const landed = new Promise<void>((resolve) => (land = resolve));
    const updateMany = store.updateMany.bind(store);
    store.updateMany = async (updates) => {
      await landed;
      await updateMany(updates);
    };
    const sync = scheduler.syncObservations();
    // Let the sync read the units and begin its commit ('exited').
    await new Promise((resolve) => setTimeout(resolve, 10));
    const start = scheduler.start('job.service');
    await new Promise((resolve) => setTimeout(resolve, 20));
    land();
    await Promise.all([sync, start]);
    // The start came after the sync's commit: its 'running' is what the store keeps.
    expect(unit('job.service').observed?.status).toBe('running');
    expect(systemdStateOf(unit('job.service'))).toEqual(active);
  });
});
