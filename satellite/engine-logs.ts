/**
 * A container's raw (multiplexed) log stream from the engine, with back-pressure. Docker quirk:
 * dockerode's container.logs() buffers the whole log in memory when follow is false, so the
 * endpoint is dialled as a stream instead.
 */
import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { NotFoundError } from '../common/errors';
import { containerState, engineError } from './engine-errors';

/** `options`: the engine's query (stdout, stderr, follow, tail, timestamps, since). */
export async function dialLogs(docker: Docker, name: string, options: Record<string, unknown>): Promise<Readable> {
  try {
    return await new Promise<Readable>((resolve, reject) =>
      docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(name)}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options,
        },
        (err: Error | null, stream: unknown) => (err ? reject(err) : resolve(stream as Readable)),
      ),
    );
  } catch (err) {
    throw engineError(err, `container ${name}`);
  }
}

/** How long a follow opened before its container's start waits for the start before reading anyway. */
export const FOLLOW_START_WAIT_MS = 60_000;
const FOLLOW_START_POLL_MS = 100;

/** The container's engine status (created, running, exited...), null when the engine has none. */
async function engineStatus(docker: Docker, name: string): Promise<string | null> {
  try {
    return (await containerState(docker, name)).Status;
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/**
 * A followed log that begins before its container has started. Docker quirk: the engine ends a
 * follow of a container that is not running at once, with whatever was logged (nothing, for one
 * never started), so a client that follows right after its POST, before the run's start, would get
 * an empty answer. While the container is only `created`, this waits for its start (or its removal,
 * which ends the stream empty), then dials. A container that does not exist is the engine's 404, at
 * once. Destroying the answer stops the wait.
 */
export async function followFromStart(docker: Docker, name: string, dial: () => Promise<Readable>): Promise<Readable> {
  // A container the engine lacks is its 404, at once (containerState throws it).
  if ((await containerState(docker, name)).Status !== 'created') return dial();
  const answer = new PassThrough();
  const wait = async (): Promise<void> => {
    const deadline = Date.now() + FOLLOW_START_WAIT_MS;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_START_POLL_MS));
      if (answer.destroyed) return;
      const now = await engineStatus(docker, name);
      // Removed (or being removed) before it ever ran: nothing was logged, and the engine refuses
      // the logs of a container marked for removal with a 409.
      if (now === null || now === 'removing' || now === 'dead') {
        answer.end();
        return;
      }
      if (now !== 'created' || Date.now() > deadline) break;
    }
    const logs = await dial();
    if (answer.destroyed) {
      logs.destroy();
      return;
    }
    logs.on('error', (err) => answer.destroy(err));
    answer.on('close', () => logs.destroy());
    logs.pipe(answer);
  };
  wait().catch((err: unknown) => answer.destroy(err instanceof Error ? err : new Error(String(err))));
  return answer;
}
