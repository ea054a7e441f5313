/**
 * A replica's PostgreSQL parts across a restart of the real server (a server of this test's own,
 * test/support/postgres-server.ts, so that stopping it touches no other test): while it is down a
 * statement fails with the typed 503 (ServiceUnavailableError, body {"detail": ...}), the change
 * feed is not live (nothing cached is reused), the leader has lost its lease and the unit locks
 * answer 503; once it is back each of them works again by itself, without a restart of the replica.
 */
import { HttpError } from '../../common/errors';
import { toHttpError } from '../../common/http-error-handler';
import { LeaseLeadership } from '../../api/store/leader-lease';
import { PostgresDatabase } from '../../api/store/postgres-database';
import { PostgresUnitLocks } from '../../api/store/postgres-unit-locks';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';

let server: PostgresServer;
let db: PostgresDatabase | null = null;
let lease: LeaseLeadership | null = null;
let locks: PostgresUnitLocks | null = null;

beforeAll(async () => {
  server = await startPostgresServer();
}, 60000);
afterAll(async () => {
  await lease?.stop();
  await locks?.close();
  await db?.close();
  server?.destroy();
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('down: 503 with a detail, no cache, no lease; back: everything resumes by itself', async () => {
  db = await PostgresDatabase.open({ url: server.url, feedRetryMs: 200 });
  await db.run('CREATE TABLE outage_probe (n INTEGER)');
  lease = new LeaseLeadership({ url: server.url, retryMs: 200 });
  lease.start();
  locks = new PostgresUnitLocks({ url: server.url });
  await locks.hold('probe.service', async () => undefined);
  await until(() => lease?.isLeader() === true && db?.changes.isLive === true, 5000);

  server.stop();
  const failure = await db.run('INSERT INTO outage_probe (n) VALUES (1)').then(
    () => null,
    (err: unknown) => err,
  );
  const answer = toHttpError(failure);
  expect(answer).toBeInstanceOf(HttpError);
  expect(answer?.status).toBe(503);
  expect(answer?.body).toEqual({ detail: expect.stringMatching(/^The database is unavailable \(.+\)\. Try again later\.$/) });
  // Inside a transaction too.
  const inTransaction = await db.transaction(async (tx) => tx.run('INSERT INTO outage_probe (n) VALUES (2)')).then(
    () => null,
    (err: unknown) => err,
  );
  expect(toHttpError(inTransaction)?.status).toBe(503);
  await expect(locks.hold('probe.service', async () => undefined)).rejects.toMatchObject({ status: 503 });
  await until(() => lease?.isLeader() === false && db?.changes.isLive === false, 5000);
  const generation = db.generation();
  expect(db.generation()).not.toBe(generation);

  server.start();
  const back = Date.now();
  await until(async () => (await db?.run('INSERT INTO outage_probe (n) VALUES (3)').then(() => true, () => false)) === true, 10000);
  await until(() => lease?.isLeader() === true && db?.changes.isLive === true, 10000);
  await locks.hold('probe.service', async () => undefined);
  console.log(`after PostgreSQL came back: store, change feed, lease and unit locks all working again within ${Date.now() - back} ms`);
  expect(await db.all<{ n: number }>('SELECT n FROM outage_probe ORDER BY n')).toEqual([{ n: 3 }]);
  await db.catchUp();
  const settled = db.generation();
  expect(db.generation()).toBe(settled);
});
