/**
 * A container's raw (multiplexed) log stream from the engine, with back-pressure. Docker quirk:
 * dockerode's container.logs() buffers the whole log in memory when follow is false, so the
 * endpoint is dialled as a stream instead.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { engineError } from './engine-errors';

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
