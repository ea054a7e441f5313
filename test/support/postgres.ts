/**
 * The real PostgreSQL server the test preparation starts (scripts/lib.sh ensure_postgres; for one
 * file: `bash scripts/with-postgres.sh npx jest --runInBand <file>`). Without it the tests that need
 * it fail, naming the way to start it; nothing is skipped. Each caller gets a database of its own.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function testDatabaseUrl(): string {
  const url = process.env.BOATLOAD_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'BOATLOAD_TEST_DATABASE_URL is not set: these tests need the real PostgreSQL server. Run the suite with `npm test` (which starts one), ' +
        'or one file with `bash scripts/with-postgres.sh npx jest --runInBand <file>`.',
    );
  }
  return url;
}

export interface TestDatabase {
  url: string;
  /** Drops the database (after every connection to it has closed). */
  drop(): Promise<void>;
}

/** A new, empty database on the test server, named with `prefix`. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const serverUrl = testDatabaseUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
