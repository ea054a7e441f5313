/** Small helpers shared by the bench's scenarios. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const MiB = 1024 * 1024;

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the items' order. After
 * a failure no new call starts, and the first error is thrown only once the calls in flight have
 * settled (so a caller's cleanup sees everything that was created).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}

/** Like mapLimit, but every call runs and failures are collected instead of thrown. */
export async function settleLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<Error[]> {
  const errors: Error[] = [];
  await mapLimit(items, limit, async (item) => {
    try {
      await fn(item);
    } catch (err) {
      errors.push(err as Error);
    }
  });
  return errors;
}

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Milliseconds taken by `fn`. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export function log(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
