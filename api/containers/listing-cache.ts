/**
 * Serialized container listings, kept until the store's generation moves (any write). A listing of
 * 1,000 containers costs a JOIN, 1,000 views and a JSON.stringify; a read-mostly dashboard polling it
 * from many clients then costs one of those per change instead of one per request. With several API
 * replicas the generation moves with every replica's writes; `catchUp` waits until every write
 * committed before the request has been heard, so a listing never misses a create another replica
 * already acknowledged.
 */
const MAX_ENTRIES = 1000;

export class ListingCache {
  private readonly entries = new Map<string, { generation: number; body: Buffer }>();

  constructor(
    private readonly generation: () => number,
    /** Resolves once `generation` reflects every write committed before the call (SqlDatabase.catchUp). */
    private readonly catchUp: () => Promise<void> = async () => undefined,
  ) {}

  /**
   * The cached body for `key`, or the one `render` makes now (then cached). Kept encoded: a string
   * would be encoded to UTF-8 again for every response.
   */
  async get(key: string, render: () => Promise<string>): Promise<Buffer> {
    await this.catchUp();
    // Read before rendering: a write while it renders leaves the entry stale, so it is rendered again.
    const generation = this.generation();
    const cached = this.entries.get(key);
    if (cached && cached.generation === generation) return cached.body;
    const body = Buffer.from(await render(), 'utf8');
    // One entry per user at most; a thousand distinct users is a reset, not a leak.
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { generation, body });
    return body;
  }
}
