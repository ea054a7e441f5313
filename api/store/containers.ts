import { ConflictError } from '../../common/errors';
import type { NetworkMode } from '../../common/network-model';
import { OVER_LIMIT, type OverLimit } from './over-limit';
import type { UnitRecord } from '../../units/scheduler/model';
import { dialectSql, type SqlDatabase, type SqlExecutor, type SqlValue } from './sql';
import { insertUnit } from './units';

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
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Inserts the container (as `insert`), and its unit with it, unless its owner already has `limit`
   * (0: no limit): OVER_LIMIT then; a ConflictError when one of the owner's containers has its
   * hostname. The count, the hostname check and the inserts are one transaction holding the owner's
   * containers lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so concurrent creates (in
   * this process across awaits, in another process on the same file, or on another replica) never
   * both take the last slot or the same hostname, and a crash never leaves a record without its unit.
   */
  insertWithinLimit(input: NewContainerWithinLimit): Promise<ContainerRecord | OverLimit> {
    const { record, script, limit, unit } = input;
    return this.db.transaction(async (tx) => {
      await tx.lock(`containers:${record.owner}`);
      if (limit > 0 && (await countContainers(tx, record.owner)) >= limit) return OVER_LIMIT;
      const hostname = record.request.hostname;
      if (hostname && (await hostnameTaken(tx, record.owner, hostname))) {
        throw new ConflictError(`You already have a container with the hostname "${hostname}".`);
      }
      const inserted = await insertContainer(tx, record, script, input.ttlSeconds ?? null, input.stdin ?? null);
      if (unit) await insertUnit(tx, unit);
      return inserted;
    });
  }

  /** Whether one of the owner's containers has this hostname (checked in the insert's transaction). */
  hostnameTaken(owner: string, hostname: string): Promise<boolean> {
    return hostnameTaken(this.db, owner, hostname);
  }

  countOwnedBy(owner: string): Promise<number> {
    return countContainers(this.db, owner);
  }

  /** `ttlSeconds`: the container expires that long after now (null: never). */
  insert(record: NewContainer, script: Buffer | null, ttlSeconds: number | null = null): Promise<ContainerRecord> {
    return insertContainer(this.db, record, script, ttlSeconds);
  }

  /** Containers whose lifetime ended at or before `now`, soonest first (the partial index holds only those with one). */
  async expired(now: Date, limit: number): Promise<ContainerRecord[]> {
    const rows = await this.db.all<ContainerRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM containers WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      [now.toISOString(), limit],
    );
    return rows.map(fromRow);
  }

  async find(id: string): Promise<ContainerRecord | undefined> {
    const row = await this.db.get<ContainerRow>(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE id = ?`, [id]);
    return row && fromRow(row);
  }

  async findByUnit(unitName: string): Promise<ContainerRecord | undefined> {
    const row = await this.db.get<ContainerRow>(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE unit_name = ?`, [unitName]);
    return row && fromRow(row);
  }

  /** Every container, or one owner's, oldest first. */
  async list(owner?: string): Promise<ContainerRecord[]> {
    const rows = owner === undefined
      ? await this.db.all<ContainerRow>(`SELECT ${SUMMARY_COLUMNS} FROM containers ORDER BY created, id`)
      : await this.db.all<ContainerRow>(`SELECT ${SUMMARY_COLUMNS} FROM containers WHERE owner = ? ORDER BY created, id`, [owner]);
    return rows.map(fromRow);
  }

  /** Every container, or one owner's, oldest first, with its unit's state. */
  async listWithUnits(owner?: string): Promise<ContainerListing[]> {
    const select = `SELECT c.id, c.owner, c.image, c.unit_name, c.request, c.created, c.updated, c.expires_at,
                           u.desired_state, u.observed, u.reason, u.ever_started, u.machine_id
                    FROM containers c JOIN units u ON u.name = c.unit_name`;
    const rows = owner === undefined
      ? await this.db.all<ListingRow>(`${select} ORDER BY c.created, c.id`)
      : await this.db.all<ListingRow>(`${select} WHERE c.owner = ? ORDER BY c.created, c.id`, [owner]);
    return rows.map((row) => ({
      ...fromRow(row),
      unit: { desiredState: row.desired_state, observed: row.observed, reason: row.reason, everStarted: row.ever_started === 1, machineId: row.machine_id },
    }));
  }

  async script(id: string): Promise<Buffer | null> {
    return (await this.db.get<{ script: Buffer | null }>('SELECT script FROM containers WHERE id = ?', [id]))?.script ?? null;
  }

  /** A script run's script and standard input (null: none), staged by whichever replica starts it. */
  async runFiles(id: string): Promise<{ script: Buffer | null; stdin: Buffer | null }> {
    const row = await this.db.get<{ script: Buffer | null; stdin: Buffer | null }>('SELECT script, stdin FROM containers WHERE id = ?', [id]);
    return { script: row?.script ?? null, stdin: row?.stdin ?? null };
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM containers WHERE id = ?', [id])) === 1;
  }
}

/** A container to insert: its record without the times the store sets. */
export type NewContainer = Omit<ContainerRecord, 'created' | 'updated' | 'expiresAt'>;

export interface NewContainerWithinLimit {
  record: NewContainer;
  script: Buffer | null;
  /** The owner's container quota (0: none). */
  limit: number;
  /** The container expires that long after now (null or absent: never). */
  ttlSeconds?: number | null;
  /** Its unit, inserted in the same transaction. */
  unit?: UnitRecord;
  /** The run's standard input (a function invocation's), stored with the record until it goes. */
  stdin?: Buffer | null;
}

async function countContainers(db: SqlExecutor, owner: string): Promise<number> {
  return (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM containers WHERE owner = ?', [owner]))?.n ?? 0;
}

async function hostnameTaken(db: SqlExecutor, owner: string, hostname: string): Promise<boolean> {
  const sql = `SELECT 1 AS taken FROM containers WHERE owner = ? AND ${dialectSql.jsonText(db.dialect, 'request', 'hostname')} = ? LIMIT 1`;
  return (await db.get(sql, [owner, hostname])) !== undefined;
}

async function insertContainer(db: SqlExecutor, record: NewContainer, script: Buffer | null, ttlSeconds: number | null, stdin: Buffer | null = null): Promise<ContainerRecord> {
  const createdAt = new Date();
  const now = createdAt.toISOString();
  const expiresAt = ttlSeconds === null ? null : new Date(createdAt.getTime() + ttlSeconds * 1000).toISOString();
  const values: SqlValue[] = [record.id, record.owner, record.image, record.unitName, JSON.stringify(record.request), script, now, now, expiresAt];
  // The stdin column only when there is one (a run's standard input; older stores have no such column).
  await db.run(
    stdin === null
      ? 'INSERT INTO containers (id, owner, image, unit_name, request, script, created, updated, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
      : 'INSERT INTO containers (id, owner, image, unit_name, request, script, created, updated, expires_at, stdin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    stdin === null ? values : [...values, stdin],
  );
  return { ...record, created: now, updated: now, expiresAt };
}
