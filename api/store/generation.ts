/**
 * A number that changes with every write to the store: SQLite's total_changes() of the API's one
 * connection (every writer in this process shares it). Cheap enough to read per request, so answers
 * computed from the store can be cached until it moves.
 */
import type { Db } from './database';

export function storeGeneration(db: Db): () => number {
  const statement = db.prepare('SELECT total_changes()').pluck();
  return () => statement.get() as number;
}
