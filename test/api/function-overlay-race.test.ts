/**
 * Which invocation answers are run again in a new container: exactly the engine's start error of a
 * task that lost Swarm's overlay race ("network <id> not found", no exit code, not timed out). The
 * race itself needs a real Swarm (a node tearing down its copy of an overlay as a task lands):
 * test/cluster/functions.test.ts runs cold invocations back to back on one, where it turns up.
 */
import { lostOverlayRace } from '../../api/functions/service';

const startError = (stderr: string): { exit_code: null; timed_out: false; stderr: string } => ({ exit_code: null, timed_out: false, stderr });

test('the start error of a task that lost the overlay race is run again', () => {
  expect(lostOverlayRace(startError('network k9m470t46rs5paduni5bgmvu1 not found\n'))).toBe(true);
});

test('anything else is answered as it is: a script that ran, a timeout, another start error, the same words from the script', () => {
  expect(lostOverlayRace({ exit_code: 1, timed_out: false, stderr: 'network k9m470t46rs5paduni5bgmvu1 not found\n' })).toBe(false);
  expect(lostOverlayRace({ exit_code: null, timed_out: true, stderr: 'network k9m470t46rs5paduni5bgmvu1 not found\n' })).toBe(false);
  expect(lostOverlayRace(startError('OCI runtime create failed: exec: "sh": executable file not found\n'))).toBe(false);
  expect(lostOverlayRace(startError('some output\nnetwork k9m470t46rs5paduni5bgmvu1 not found\n'))).toBe(false);
  expect(lostOverlayRace(startError(''))).toBe(false);
});
