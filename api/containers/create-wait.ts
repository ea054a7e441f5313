/** `?wait=ready[&timeout=N]` on create: read before creating (a bad query is a 400), waited for after. */
import { timeoutQuery, waitQuery } from './action-requests';
import type { ExecService } from './exec';
import type { CreateWaiter } from './routes';

export function readyWaiter(input: { exec: ExecService; waitReadyMaxSeconds: number }): CreateWaiter {
  return {
    parse(req) {
      if (waitQuery(req) !== 'ready') return null;
      const timeout = timeoutQuery(req, 30, input.waitReadyMaxSeconds);
      return (user, created) => input.exec.waitReady(user, created.id, timeout);
    },
  };
}
