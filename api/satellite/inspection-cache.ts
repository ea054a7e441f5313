/**
 * Container inspections kept between state reads, valid only while the satellite's event feed is
 * live: an engine event or a write through this client drops the container's entry, and losing the
 * feed drops them all. A read while the feed is down goes to the engine, as without a cache.
 * With several API replicas, the others' writes drop entries too (`ReplicaContainerChanges`: each
 * replica names the container it wrote to as soon as the satellite answered), and while that feed is
 * down nothing is kept either.
 */
import type { ContainerInspection } from '../../common/satellite-protocol';

const MAX_ENTRIES = 20_000;

type Inspection = ContainerInspection | null;

/** Other API replicas' writes to containers (PostgreSQL's change feed); absent with one API process. */
export interface ReplicaContainerChanges {
  /** Tells the other replicas that this one wrote to the container (a name or an engine id). */
  publish(container: string): void;
  subscribe(listener: { changed(container: string): void; live(live: boolean): void }): () => void;
}

export class InspectionCache {
  private live = false;
  /** Whether the other replicas' writes can be heard (always, without other replicas). */
  private replicasLive = true;
  private readonly entries = new Map<string, Inspection>();
  /** One engine read per container at a time; later readers share it. */
  private readonly fills = new Map<string, Promise<Inspection>>();

  get isLive(): boolean {
    return this.live;
  }

  /** The feed is (or is no longer) live; either way nothing cached before can be trusted. */
  setLive(live: boolean): void {
    this.live = live;
    this.clear();
  }

  /** The other replicas' feed is (or is no longer) live; either way nothing cached before is trusted. */
  setReplicasLive(live: boolean): void {
    this.replicasLive = live;
    this.clear();
  }

  clear(): void {
    this.entries.clear();
    this.fills.clear();
  }

  /** Something happened to the container known by these keys (its name, its engine id). */
  forget(...keys: Array<string | null | undefined>): void {
    for (const key of keys) {
      if (!key) continue;
      this.entries.delete(key);
      this.fills.delete(key);
    }
  }

  /** The cached inspection of `key` (a name or an engine id), or `fetch`'s answer, kept if still valid. */
  async read(key: string, fetch: () => Promise<Inspection>): Promise<Inspection> {
    if (!this.live || !this.replicasLive) return fetch();
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const pending = this.fills.get(key);
    if (pending) return pending;
    const fill = fetch();
    this.fills.set(key, fill);
    try {
      const inspection = await fill;
      // Kept only if no event or write about the container came in meanwhile (that drops the fill),
      // and only under the key the engine's answer itself names.
      const named = inspection === null || inspection.name === key || inspection.engineId === key;
      if (this.fills.get(key) === fill && named) {
        if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
        this.entries.set(key, inspection);
      }
      return inspection;
    } finally {
      if (this.fills.get(key) === fill) this.fills.delete(key);
    }
  }
}
