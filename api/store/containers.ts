import { ConflictError } from '../../common/errors';
import type { NetworkMode } from '../../common/network-model';
import type { Db } from './database';
import { OVER_LIMIT, type OverLimit } from './over-limit';
import { StatementCache } from './statements';

/** What the user asked for, kept to answer GET and to stage again if the engine loses the container. */
export interface ContainerRequestRecord {
  image_name: string;
  image_tag: string;
  scriptname: string | null;
  scripturl: string | null;
  dataurl: string | null;
  datapath: string | null;
  container_args: string[];
  env: Record<string, string>;
  permanent: boolean;
  /** The snapshot it started from (absent in records made before snapshots existed). */
  snapshot?: string | null;
  /** Mounted volumes, by volume id. */
  volumes?: Array<{ volume: string; path: string; readonly: boolean }>;
  /** The lifetime it got, in seconds (null: none; absent in records made before lifetimes existed). */
  ttl?: number | null;
  /** Its DNS label among the owner's containers (absent or null: none). */
  hostname?: string | null;
  /** Its network mode (absent in records made before network modes: they ran on the default bridge). */
  network?: NetworkMode;
  /** Exposed ports as asked for (host_port: a fixed one); absent in records made before ports existed. */
  ports?: Array<{ port: number; protocol: 'tcp' | 'udp'; host_port?: number }>;
  /** Links as asked for: alias → container id. */
  links?: Record<string, string>;
}

export interface ContainerRecord {
  id: string;
  owner: string;
  image: string;
  unitName: string;
  request: ContainerRequestRecord;
  created: string;
  updated: string;
  /** When the reaper removes it (ISO 8601 UTC); null: never. */
  expiresAt: string | null;
}

interface ContainerRow {
  id: string;
  owner: string;
  image: string;
  unit_name: string;
  request: string;
  created: string;
  updated: string;
  expires_at: string | null;
}

const SUMMARY_COLUMNS = 'id, owner, image, unit_name, request, created, updated, expires_at';

const fromRow = (row: ContainerRow): ContainerRecord => ({
  id: row.id,
  owner: row.owner,
  image: row.image,
  unitName: row.unit_name,
  request: JSON.parse(row.request) as ContainerRequestRecord,
  created: row.created,
  updated: row.updated,
  expiresAt: row.expires_at,
});

/** A container with its unit's scheduling fields, for listings (one JOIN, no per-row lookups). */
export interface ContainerListing extends ContainerRecord {
  unit: { desiredState: string; observed: string | null; reason: string | null; everStarted: boolean; machineId: string | null };
}

interface ListingRow extends ContainerRow {
  desired_state: string;
  observed: string | null;
  reason: string | null;
  ever_started: number;
  machine_id: string | null;
}

export class ContainerRepository {
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  /**
   * Inserts the container (as `insert`) unless its owner already has `limit` (0: no limit):
   * OVER_LIMIT then. The count and the insert are one IMMEDIATE transaction, so concurrent creates (in
   * this process across awaits, or in another process on the same file) never both take the last slot.
   */
  insertWithinLimit(record: Omit<ContainerRecord, 'created' | 'updated' | 'expiresAt'>, script: Buffer | null, limit: number, ttlSeconds: number | null = null): ContainerRecord | OverLimit {
    return this.db
      .transaction(() => {
        if (limit > 0 && this.countOwnedBy(record.owner) >= limit) return OVER_LIMIT;
        const hostname = record.request.hostname;
        if (hostname && this.hostnameTaken(record.owner, hostname)) {
          throw new ConflictError(`You already have a container with the hostname "${hostname}".`);
        }
        return this.insert(record, script, ttlSeconds);
      })
      .immediate();
  }

  /** Whether one of the owner's containers has this hostname (checked in the insert's transaction). */
  hostnameTaken(owner: string, hostname: string): boolean {
    return this.statements.get(`SELECT 1 FROM containers WHERE owner = ? AND json_extract(request, '$.hostname') = ? LIMIT 1`).get(owner, hostname) !== undefined;
  }

  countOwnedBy(owner: string): number {
    return (this.statements.get('SELECT COUNT(*) AS n FROM containers WHERE owner = ?').get(owner) as { n: number }).n;
  }

  /** `ttlSeconds`: the container expires that long after now (null: never). */
  insert(record: Omit<ContainerRecord, 'created' | 'updated' | 'expiresAt'>, script: Buffer | null, ttlSeconds: number | null = null): ContainerRecord {
    const createdAt = new Date();
    const now = createdAt.toISOString();
    const expiresAt = ttlSeconds === null ? null : new Date(createdAt.getTime() + ttlSeconds * 1000).toISOString();
    this.statements
      .get(
        `INSERT INTO containers (id, owner, image, unit_name, request, script, created, updated, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(record.id, record.owner, record.image, record.unitName, JSON.stringify(record.request), script, now, now, expiresAt);
    return { ...record, created: now, updated: now, expiresAt };
  }

  /** Containers whose lifetime ended at or before `now`, soonest first (the partial index holds only those with one). */
  expired(now: Date, limit: number): ContainerRecord[] {
    const rows = this.statements
      .get(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`)
      .all(now.toISOString(), limit);
    return (rows as ContainerRow[]).map(fromRow);
  }

  find(id: string): ContainerRecord | undefined {
    const row = this.statements.get(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE id = ?`).get(id) as ContainerRow | undefined;
    return row && fromRow(row);
  }

  findByUnit(unitName: string): ContainerRecord | undefined {
    const row = this.statements.get(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE unit_name = ?`).get(unitName) as ContainerRow | undefined;
    return row && fromRow(row);
  }

  /** Every container, or one owner's, oldest first. */
  list(owner?: string): ContainerRecord[] {
    const rows = owner === undefined
      ? this.statements.get(`SELECT ${SUMMARY_COLUMNS} FROM containers ORDER BY created, id`).all()
      : this.statements.get(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE owner = ? ORDER BY created, id`).all(owner);
    return (rows as ContainerRow[]).map(fromRow);
  }

  /** Every container, or one owner's, oldest first, with its unit's state. */
  listWithUnits(owner?: string): ContainerListing[] {
    const select = `SELECT c.id, c.owner, c.image, c.unit_name, c.request, c.created, c.updated, c.expires_at,
                           u.desired_state, u.observed, u.reason, u.ever_started, u.machine_id
                    FROM containers c JOIN units u ON u.name = c.unit_name`;
    const rows = owner === undefined
      ? this.statements.get(`${select} ORDER BY c.created, c.id`).all()
      : this.statements.get(`${select} WHERE c.owner = ? ORDER BY c.created, c.id`).all(owner);
    return (rows as ListingRow[]).map((row) => ({
      ...fromRow(row),
      unit: { desiredState: row.desired_state, observed: row.observed, reason: row.reason, everStarted: row.ever_started === 1, machineId: row.machine_id },
    }));
  }

  script(id: string): Buffer | null {
    const row = this.statements.get('SELECT script FROM containers WHERE id = ?').get(id) as { script: Buffer | null } | undefined;
    return row?.script ?? null;
  }

  delete(id: string): boolean {
    return this.statements.get('DELETE FROM containers WHERE id = ?').run(id).changes === 1;
  }
}
