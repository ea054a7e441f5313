/**
 * The store the config selects: PostgreSQL when BOATLOAD_DATABASE_URL is set (several API replicas on
 * one database), else the embedded SQLite file at BOATLOAD_DB_PATH. Either is migrated before it is
 * answered (on PostgreSQL under an advisory lock: replicas that start together migrate once).
 */
import type { Logger } from '../../common/logger';
import type { ApiConfig } from '../config';
import { openDatabase } from './database';
import { PostgresDatabase } from './postgres-database';
import type { SqlDatabase } from './sql';
import { SqliteDatabase } from './sqlite-database';

/** `logger`: where PostgreSQL's change feed says it lost its connection (caches are bypassed until it is back). */
export async function openStore(config: Pick<ApiConfig, 'dbPath' | 'databaseUrl' | 'databasePoolSize'>, logger?: Logger): Promise<SqlDatabase> {
  if (config.databaseUrl !== null) return PostgresDatabase.open({ url: config.databaseUrl, maxConnections: config.databasePoolSize, logger });
  return new SqliteDatabase(openDatabase(config.dbPath));
}
