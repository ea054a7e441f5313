/**
 * The store's tables on PostgreSQL, as migrations run at start-up in order (tracked in
 * boatload_schema). The first one is the SQLite store's schema as of its migration STORE_VERSION
 * (api/store/database.ts) in PostgreSQL's types: a PostgreSQL store starts there, so the SQLite
 * history before it never needs replaying. A migration added to the SQLite list later is added here
 * too, in the same order, so that both dialects hold the same tables.
 * ISO 8601 times stay TEXT (the repositories compare them as strings on both), epoch milliseconds and
 * byte counts are BIGINT, scripts BYTEA, JSON TEXT (read with ::jsonb where a query looks inside).
 */
export const POSTGRES_MIGRATIONS: string[] = [
  `CREATE TABLE users (
     username      TEXT PRIMARY KEY,
     password      TEXT NOT NULL,
     is_admin      INTEGER NOT NULL DEFAULT 0,
     created       TEXT NOT NULL,
     credential_id TEXT NOT NULL DEFAULT ''
   );
   CREATE TABLE sessions (
     sid        TEXT PRIMARY KEY,
     data       TEXT NOT NULL,
     expires_ms BIGINT NOT NULL
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
   CREATE INDEX units_engine_name ON units (engine_name);
   CREATE INDEX units_with_state ON units (name)
     WHERE current_state != 'inactive' OR (observed::jsonb ->> 'status') != 'missing';
   CREATE INDEX units_wanted ON units (name) WHERE desired_state != 'inactive';
   CREATE TABLE containers (
     id         TEXT PRIMARY KEY,
     owner      TEXT NOT NULL,
     image      TEXT NOT NULL,
     unit_name  TEXT NOT NULL UNIQUE,
     request    TEXT NOT NULL,
     script     BYTEA,
     created    TEXT NOT NULL,
     updated    TEXT NOT NULL,
     expires_at TEXT
   );
   CREATE INDEX containers_owner ON containers (owner, created);
   CREATE INDEX containers_expiry ON containers (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE machine_metadata (
     machine_id TEXT NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT,
     updated    TEXT NOT NULL,
     PRIMARY KEY (machine_id, key)
   );
   CREATE TABLE operations (
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
     id             TEXT PRIMARY KEY,
     owner          TEXT NOT NULL,
     container_id   TEXT NOT NULL,
     name           TEXT,
     image          TEXT NOT NULL,
     image_id       TEXT NOT NULL,
     size           BIGINT NOT NULL,
     machine_id     TEXT,
     created        TEXT NOT NULL,
     script         BYTEA,
     scriptname     TEXT,
     container_args TEXT
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
   );
   CREATE TABLE login_failures (
     key             TEXT PRIMARY KEY,
     failures        INTEGER NOT NULL,
     window_start_ms BIGINT NOT NULL
   );
   CREATE INDEX login_failures_window ON login_failures (window_start_ms);
   CREATE TABLE user_quotas (
     username             TEXT PRIMARY KEY,
     containers           INTEGER,
     volumes              INTEGER,
     snapshots            INTEGER,
     container_disk_bytes BIGINT,
     volume_bytes         BIGINT,
     updated              TEXT NOT NULL
   );`,
  // SQLite step 12 - functions (api/functions/).
  `CREATE TABLE functions (
     owner      TEXT NOT NULL,
     name       TEXT NOT NULL,
     definition TEXT NOT NULL,
     created    TEXT NOT NULL,
     PRIMARY KEY (owner, name)
   );`,
  // SQLite step 13 - a run's standard input with its container record.
  `ALTER TABLE containers ADD COLUMN stdin BYTEA;`,
  // SQLite step 14 - functions' run-time state (invocations).
  `CREATE TABLE function_invocations (
     id          TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     name        TEXT NOT NULL,
     started_ms  BIGINT NOT NULL,
     deadline_ms BIGINT NOT NULL,
     finished_ms BIGINT,
     status      TEXT,
     duration_ms INTEGER,
     cold        INTEGER,
     at          TEXT
   );
   CREATE INDEX function_invocations_function ON function_invocations (owner, name, finished_ms);`,
];
