/**
 * The store the config selects: PostgreSQL when BOATLOAD_DATABASE_URL is set (several API replicas on
 * one database), else the embedded SQLite file at BOATLOAD_DB_PATH. Either is migrated before it is
 * answered (on PostgreSQL under an advisory lock: replicas that start together migrate once).
 */
import type { ApiConfig } from '../config';
import { openDatabase } from './database';
import { PostgresDatabase } from './postgres-database';
import type { SqlDatabase } from './sql';
import { SqliteDatabase } from './sqlite-database';

export async function openStore(config: Pick<ApiConfig, 'dbPath' | 'databaseUrl'>): Promise<SqlDatabase> {
  if (config.databaseUrl !== null) return PostgresDatabase.open({ url: config.databaseUrl });
  return new SqliteDatabase(openDatabase(config.dbPath));
}
