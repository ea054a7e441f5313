import type Docker from 'dockerode';
import { BadGatewayError, BadRequestError, ConflictError, HttpError, NotFoundError, ServiceUnavailableError } from '../common/errors';

/** dockerode rejects with an Error carrying the engine's statusCode; turn it into our typed errors. */
export function engineError(err: unknown, what: string): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { statusCode?: number; code?: string };
  const message = engineMessage(err);
  if (e.statusCode === 404) return new NotFoundError(`${what} not found.`);
  if (e.statusCode === 409) return new ConflictError(message);
  if (e.statusCode === 400) return new BadRequestError(message);
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return new ServiceUnavailableError(`The Docker engine is unavailable: ${e.code}`);
  }
  return new BadGatewayError(`The Docker engine refused ${what}: ${message}`);
}

export function isEngineNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** The engine's own message for a failed call (dockerode puts it in json.message). */
export function engineMessage(err: unknown): string {
  const e = err as { message?: string; json?: { message?: string } };
  return e.json?.message ?? e.message ?? String(err);
}

/** A container's engine state; a 404 (as engineError maps it) when the engine has no such container. */
export async function containerState(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo['State']> {
  try {
    return (await docker.getContainer(name).inspect()).State;
  } catch (err) {
    throw engineError(err, `container ${name}`);
  }
}
