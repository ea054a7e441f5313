/**
 * PostgreSQL that cannot be reached is a 503, not a 500: the server is down or restarting, the
 * connection was cut, or it refuses new connections for now. Such an error becomes the typed
 * ServiceUnavailableError (common/errors.ts; mapped to HTTP in common/http-error-handler.ts) with
 * the DRF body {"detail": "The database is unavailable (...). Try again later."}; any other error
 * (a constraint, a bad query) passes through unchanged.
 */
import { ServiceUnavailableError } from '../../common/errors';

/** Node's socket errors on the way to the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATEs: admin_shutdown, crash_shutdown, cannot_connect_now (starting up), too_many_connections. */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** node-postgres' own messages for a connection that ended or never came. */
const CLIENT_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable)/;

/** Whether `err` says the database cannot be reached (rather than that a statement failed). */
export function isDatabaseUnreachable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && CLIENT_MESSAGES.test(message);
}

/** `err` as a ServiceUnavailableError when the database cannot be reached, else unchanged. */
export function unreachableAsUnavailable(err: unknown): unknown {
  if (!isDatabaseUnreachable(err)) return err;
  const { code, message } = err as { code?: string; message?: string };
  return new ServiceUnavailableError(`The database is unavailable (${code ?? message ?? 'no connection'}). Try again later.`);
}
