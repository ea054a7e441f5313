/**
 * The machine-wide cluster lock that scripts/test-cluster.sh takes (flock on
 * /run/boatload-cluster.lock): only one cluster (namespaced engines with fixed names and addresses)
 * can exist at a time, so the bench's cluster scenario and the cluster suite never overlap.
 *
 * Node has no flock: a small bash holds it on fd 9 for as long as its stdin stays open. It runs in
 * its own session (a Ctrl-C in the terminal does not reach it, so the lock outlives the tear-down
 * that follows), and it exits, releasing the lock, when the bench closes its stdin or dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const CLUSTER_LOCK = '/run/boatload-cluster.lock';
const WAIT_SECONDS = 1800;

const HOLDER = `
exec 9>"$1"
if ! flock -n 9; then
  echo busy
  flock -w "$2" 9 || { echo timeout; exit 1; }
fi
echo locked
read -r _ || true
`;

export class ClusterLock {
  private constructor(private readonly child: ChildProcess, private readonly exited: Promise<void>) {}

  /**
   * Takes the lock, waiting (at most 30 min, as test-cluster.sh) while another run holds it.
   * Resolves null when the wait timed out or was cancelled (`signal`).
   */
  static async take(onBusy: () => void, signal?: AbortSignal): Promise<ClusterLock | null> {
    const child = spawn('bash', ['-c', HOLDER, 'cluster-lock', CLUSTER_LOCK, String(WAIT_SECONDS)], {
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const abort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const got = await new Promise<boolean>((resolve, reject) => {
        child.once('error', reject);
        lines.on('line', (line) => {
          if (line === 'busy') onBusy();
          else if (line === 'locked') resolve(true);
        });
        void exited.then(() => resolve(false));
      });
      return got ? new ClusterLock(child, exited) : null;
    } finally {
      signal?.removeEventListener('abort', abort);
      lines.close();
    }
  }

  /** Releases the lock (the holder reads end-of-input and exits). */
  async release(): Promise<void> {
    this.child.stdin?.end();
    const done = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000))]);
    if (!done) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
