/**
 * The embedded store: one SQLite file (WAL mode) holding users, sessions, settings, containers,
 * units, machine metadata edits and login-throttling counts. Migrations run at start-up, in order, tracked by SQLite's user_version.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     username   TEXT PRIMARY KEY,
     password   TEXT NOT NULL,
     is_admin   INTEGER NOT NULL DEFAULT 0,
     created    TEXT NOT NULL
   );
   CREATE TABLE sessions (
     sid        TEXT PRIMARY KEY,
     data       TEXT NOT NULL,
     expires_ms INTEGER NOT NULL
   );
   CREATE INDEX sessions_expires ON sessions (expires_ms);
   CREATE TABLE settings (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE units (
     name          TEXT PRIMARY KEY,
     options       TEXT NOT NULL,
     hash          TEXT NOT NULL,
     desired_state TEXT NOT NULL,
     current_state TEXT NOT NULL,
     machine_id    TEXT,
     reason        TEXT,
     engine_name   TEXT,
     observed      TEXT,
     ever_started  INTEGER NOT NULL DEFAULT 0,
     container_id  TEXT,
     created       TEXT NOT NULL,
     updated       TEXT NOT NULL
   );
   CREATE TABLE containers (
     id         TEXT PRIMARY KEY,
     owner      TEXT NOT NULL,
     image      TEXT NOT NULL,
     unit_name  TEXT NOT NULL UNIQUE,
     request    TEXT NOT NULL,
     script     BLOB,
     created    TEXT NOT NULL,
     updated    TEXT NOT NULL
   );
   CREATE INDEX containers_owner ON containers (owner, created);`,
  // Machine metadata edited through the fleet API (PATCH /machines): a value overrides the
  // satellite's own, NULL removes the key.
  `CREATE TABLE machine_metadata (
     machine_id TEXT NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT,
     updated    TEXT NOT NULL,
     PRIMARY KEY (machine_id, key)
   );`,
  // Resources beside containers: operations (receipts of long actions), snapshots (committed images) and
  // named volumes, each with its owner.
  `CREATE TABLE operations (
     id      TEXT PRIMARY KEY,
     owner   TEXT NOT NULL,
     kind    TEXT NOT NULL,
     status  TEXT NOT NULL,
     target  TEXT NOT NULL,
     result  TEXT,
     error   TEXT,
     created TEXT NOT NULL,
     updated TEXT NOT NULL
   );
   CREATE INDEX operations_owner ON operations (owner, created);
   CREATE INDEX operations_status ON operations (status);
   CREATE TABLE snapshots (
     id           TEXT PRIMARY KEY,
     owner        TEXT NOT NULL,
     container_id TEXT NOT NULL,
     name         TEXT,
     image        TEXT NOT NULL,
     image_id     TEXT NOT NULL,
     size         INTEGER NOT NULL,
     machine_id   TEXT,
     created      TEXT NOT NULL
   );
   CREATE INDEX snapshots_owner ON snapshots (owner, created);
   CREATE TABLE volumes (
     id          TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     name        TEXT NOT NULL,
     engine_name TEXT NOT NULL UNIQUE,
     machine_id  TEXT,
     created     TEXT NOT NULL,
     UNIQUE (owner, name)
   );`,
  // A PUT checks that no other unit uses its container name: one index lookup, not a scan.
  `CREATE INDEX units_engine_name ON units (engine_name);`,
  // GET /state lists only units with a systemd state on a machine (see systemdStateOf): this
  // partial index holds just those, by name, so a page never scans the inactive rest. The
  // condition is repeated word for word in the store's query (SQLite matches it textually).
  `CREATE INDEX units_with_state ON units (name)
     WHERE current_state != 'inactive' OR json_extract(observed, '$.status') != 'missing';`,
  // The state sync (every 2 s) and replanning read only the units whose desired state is not
  // inactive: this partial index holds just those.
  `CREATE INDEX units_wanted ON units (name) WHERE desired_state != 'inactive';`,
  // Step 7 - container lifetime: when a container expires (ISO 8601 UTC, NULL: never). The reaper
  // reads only the containers that have a lifetime: this partial index holds just those, by time.
  `ALTER TABLE containers ADD COLUMN expires_at TEXT;
   CREATE INDEX containers_expiry ON containers (expires_at) WHERE expires_at IS NOT NULL;`,
  // Login throttling: failed (and in-flight) logins per key (`user:<name>`, `addr:<address>`) in a
  // window that starts at the key's first failure. Stored so a restart does not reset the counts;
  // windows that ended are swept by window_start_ms.
  `CREATE TABLE login_failures (
     key             TEXT PRIMARY KEY,
     failures        INTEGER NOT NULL,
     window_start_ms INTEGER NOT NULL
   );
   CREATE INDEX login_failures_window ON login_failures (window_start_ms);`,
  // A random id per user's credentials, embedded in the tokens issued to them and drawn anew when
  // the password changes or an admin logs the user out everywhere: older tokens no longer match.
  // Tokens issued before this column existed carry none and are refused.
  `ALTER TABLE users ADD COLUMN credential_id TEXT NOT NULL DEFAULT '';
   UPDATE users SET credential_id = lower(hex(randomblob(16)));`,
  // A snapshot carries the command of the container it was taken from: the script is a bind mount
  // (or a Swarm config) that an engine commit does not capture, so it is staged again for every
  // container made from the snapshot. Snapshots taken before get it from their source container,
  // if that still exists.
  `ALTER TABLE snapshots ADD COLUMN script BLOB;
   ALTER TABLE snapshots ADD COLUMN scriptname TEXT;
   ALTER TABLE snapshots ADD COLUMN container_args TEXT;
   UPDATE snapshots SET
     script = (SELECT c.script FROM containers c WHERE c.id = snapshots.container_id),
     scriptname = (SELECT json_extract(c.request, '$.scriptname') FROM containers c WHERE c.id = snapshots.container_id),
     container_args = (SELECT json_extract(c.request, '$.container_args') FROM containers c WHERE c.id = snapshots.container_id);`,
  // Step 11 - per-user quota overrides set by admins (api/quotas/): NULL in a column means the
  // installation's default (BOATLOAD_QUOTA_*), 0 means unlimited.
  `CREATE TABLE user_quotas (
     username             TEXT PRIMARY KEY,
     containers           INTEGER,
     volumes              INTEGER,
     snapshots            INTEGER,
     container_disk_bytes INTEGER,
     volume_bytes         INTEGER,
     updated              TEXT NOT NULL
   );`,
  // Step 12 - functions (api/functions/): named, owned scripts or commands to invoke; the
  // definition is JSON (image, script, limits, capacity settings), names unique per owner.
  `CREATE TABLE functions (
     owner      TEXT NOT NULL,
     name       TEXT NOT NULL,
     definition TEXT NOT NULL,
     created    TEXT NOT NULL,
     PRIMARY KEY (owner, name)
   );`,
  // A run's standard input (a function invocation's) is stored with its container record, so that
  // whichever API replica starts the run (or starts it again) stages it (issue 17).
  `ALTER TABLE containers ADD COLUMN stdin BLOB;`,
  // Functions' run-time state, shared by every API replica (issue 17): one row per invocation, in
  // flight (finished_ms NULL) until its replica ends it or its deadline passes (a replica that died
  // renews it no more), then its note (status, duration, cold) until newer ones push it out. The
  // rows give max_concurrency's count, GET's last invocations and the capacity clock (idle_timeout).
  `CREATE TABLE function_invocations (
     id          TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     name        TEXT NOT NULL,
     started_ms  INTEGER NOT NULL,
     deadline_ms INTEGER NOT NULL,
     finished_ms INTEGER,
     status      TEXT,
     duration_ms INTEGER,
     cold        INTEGER,
     at          TEXT
   );
   CREATE INDEX function_invocations_function ON function_invocations (owner, name, finished_ms);`,
];

/** The store version (SQLite user_version) once every migration has run. */
export const STORE_VERSION = MIGRATIONS.length;

/** The store version once the step whose SQL contains `marker` has run (tests build the store before it). */
export function storeVersionAfter(marker: string): number {
  const index = MIGRATIONS.findIndex((sql) => sql.includes(marker));
  if (index < 0) throw new Error(`no store migration contains "${marker}"`);
  return index + 1;
}

/** Opens (creating) the store and migrates it; `version` stops earlier (tests build older stores). */
export function openDatabase(path: string, options: { version?: number } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: every commit is on the disk before it is acknowledged. With NORMAL, WAL commits since
  // the last checkpoint lived only in the page cache: a filesystem that turned read-only on a disk
  // error (ext4 errors=remount-ro) dropped them, tokens' secret and acknowledged containers with
  // them (test/api/store-faults.test.ts). The cost is one fsync per commit (~3-4 ms here).
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, options.version ?? STORE_VERSION);
  return db;
}

function migrate(db: Db, target: number): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < target; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}
