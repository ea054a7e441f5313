/** Calls `load` now and every `intervalMs` while the component is mounted (no overlapping calls). */
import { useEffect } from 'preact/hooks';

export function usePoll(load: () => Promise<void>, intervalMs: number, deps: unknown[]): void {
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async (): Promise<void> => {
      await load().catch(() => undefined);
      if (!stopped) timer = window.setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, deps);
}
