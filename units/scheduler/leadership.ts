/**
 * Which API replica acts on the engines by itself (issue 17): the scheduler's start-up reconcile and
 * state sync, the periodic replan, the container reaper, the disk watchdog and the warm pool's refills
 * run only on the leader, and each checks `isLeader()` before every action, so a replica that loses
 * the lead stops at once. Work a user's request asks for (create, start, stop, remove) runs on the
 * replica that got the request, whoever leads; `UnitLocks` serializes it per unit across replicas.
 */
export interface Leadership {
  /** Whether this replica leads now. */
  isLeader(): boolean;
  /** Called with every change (true: this replica now leads); answers a function that unsubscribes. */
  subscribe(listener: (leader: boolean) => void): () => void;
}

/** One API process on its own store (SQLite): it always leads. */
export const soleLeader: Leadership = {
  isLeader: () => true,
  subscribe: (listener) => {
    listener(true);
    return () => undefined;
  },
};

/** Leadership that others can hand over (the lease's adapter; tests). */
export class SwitchedLeadership implements Leadership {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  isLeader(): boolean {
    return this.leader;
  }

  subscribe(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    if (this.leader) listener(true);
    return () => this.listeners.delete(listener);
  }

  set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const listener of [...this.listeners]) listener(leader);
  }
}
