/**
 * The API logs a unit that fails, a crash loop and a start error: one warn line naming the unit and
 * the reason, once per transition (the state sync seeing the same problem again logs nothing).
 * Against the scheduler's own ports (fakes.ts), read through a capturing logger.
 */
import { problemOf, UnitProblemLog } from '../../../units/scheduler/unit-problems';
import { capturingLogger } from '../../../common/logger';
import { schedulerOnFakes, unitFile } from './fakes';

const warnings = (lines: string[]): string[] => lines.filter((line) => line.startsWith('WARN'));

test('a start the engine refuses: one line with the engine reason, not repeated by syncs or converges', async () => {
  const { scheduler, host, logger, add } = schedulerOnFakes();
  await add('broken.service', unitFile('broken'));
  host.refusesStart.set('broken', 'exec: "/no/such/binary": stat /no/such/binary: no such file or directory');
  await expect(scheduler.start('broken.service')).rejects.toThrow(/no such file/);
  expect(warnings(logger.lines)).toEqual([
    'WARN [scheduler] unit broken.service: start error: exec: "/no/such/binary": stat /no/such/binary: no such file or directory',
  ]);
  await scheduler.syncObservations();
  await scheduler.syncObservations();
  await scheduler.converge('broken.service');
  expect(warnings(logger.lines)).toHaveLength(1);
});

test('a container that exits with an error: one line naming the exit code', async () => {
  const { scheduler, host, logger, add } = schedulerOnFakes();
  await add('job.service', unitFile('job'));
  await scheduler.start('job.service');
  expect(warnings(logger.lines)).toEqual([]);
  host.exit('job', 3);
  await scheduler.syncObservations();
  await scheduler.syncObservations();
  expect(warnings(logger.lines)).toEqual(['WARN [scheduler] unit job.service: failed: its container exited with code 3']);
  // Started again and failing again: a new transition, a new line.
  await scheduler.start('job.service');
  host.exit('job', 3);
  await scheduler.syncObservations();
  expect(warnings(logger.lines)).toHaveLength(2);
});

test('a crash loop is logged once, though the container runs for a moment between its restarts', async () => {
  const { scheduler, host, logger, add } = schedulerOnFakes();
  await add('loop.service', unitFile('loop', { restart: 'always' }));
  await scheduler.start('loop.service');
  for (let i = 0; i < 3; i++) {
    host.crashLooping('loop');
    await scheduler.syncObservations();
    host.runsAgain('loop');
    await scheduler.syncObservations();
  }
  expect(warnings(logger.lines)).toEqual(['WARN [scheduler] unit loop.service: crash loop: the engine keeps restarting its container (last exit code 1)']);
});

test('a crash loop that ended (no restart for the quiet period) and begins again is logged again', () => {
  const logger = capturingLogger();
  let now = 0;
  const log = new UnitProblemLog({ logger, crashLoopQuietMs: 60_000, now: () => now });
  const restarting = problemOf({ status: 'restarting', exitCode: 1, error: null, observedAt: '' });
  log.note('a.service', restarting);
  now = 30_000;
  log.note('a.service', null);
  log.note('a.service', restarting);
  expect(logger.lines).toHaveLength(1);
  now = 100_000;
  log.note('a.service', null);
  log.note('a.service', restarting);
  expect(logger.lines).toHaveLength(2);
});

test('a lost container and a scheduler that cannot reach the host are logged once each', async () => {
  const { scheduler, host, logger, add } = schedulerOnFakes();
  await add('gone.service', unitFile('gone'));
  await scheduler.start('gone.service');
  host.lose('gone');
  await scheduler.converge('gone.service');
  await scheduler.converge('gone.service');
  expect(warnings(logger.lines)).toEqual(['WARN [scheduler] unit gone.service: failed: the container disappeared from the engine']);

  await add('far.service', unitFile('far'));
  host.down = true;
  await expect(scheduler.start('far.service')).rejects.toThrow(/unavailable/);
  await expect(scheduler.converge('far.service')).rejects.toThrow(/unavailable/);
  expect(warnings(logger.lines).slice(1)).toEqual(['WARN [scheduler] unit far.service: start error: The satellite is unavailable (ECONNREFUSED).']);
});

test('what is not a problem logs nothing: a clean exit, a stop, an --rm container that finished', async () => {
  const { scheduler, host, logger, add } = schedulerOnFakes();
  await add('clean.service', unitFile('clean'));
  await add('rm.service', unitFile('rm', { rm: true }));
  await scheduler.start('clean.service');
  await scheduler.start('rm.service');
  host.exit('clean', 0);
  host.exit('rm', 0);
  await scheduler.syncObservations();
  await scheduler.reconcileAll();
  await scheduler.stop('clean.service');
  expect(warnings(logger.lines)).toEqual([]);
});
