import { executionAsyncResource } from 'node:async_hooks';

/**
 * How many AsyncLocalStorage instances are enabled in this process. Node 20 keeps every enabled one
 * (and so everything it holds) until `disable()`, and copies each one's value onto every async
 * resource created from then on, as an own symbol property: what a new Immediate carries counts them.
 */
export function enabledAsyncStorages(): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).length)));
}
