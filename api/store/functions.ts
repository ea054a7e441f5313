/** Functions in the store: one row per owner and name, the definition as JSON. */
import type { Db } from './database';

export interface FunctionDefinition {
  imageName: string;
  imageTag: string;
  /** base64, or null for `cmd`. */
  script: string | null;
  cmd: string[] | null;
  env: Record<string, string>;
  timeoutSeconds: number;
  memory: number | null;
  cpus: number | null;
  network?: string | null;
  minWarm: number;
  maxWarm: number;
  maxConcurrency: number;
  idleTimeoutSeconds: number;
}

export interface FunctionRecord {
  owner: string;
  name: string;
  definition: FunctionDefinition;
  created: string;
}

interface Row {
  owner: string;
  name: string;
  definition: string;
  created: string;
}

const fromRow = (row: Row): FunctionRecord => ({ owner: row.owner, name: row.name, definition: JSON.parse(row.definition) as FunctionDefinition, created: row.created });

export class FunctionRepository {
  constructor(private readonly db: Db) {}

  /** false when the owner has a function of that name already. */
  insert(record: FunctionRecord): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO functions (owner, name, definition, created) VALUES (?, ?, ?, ?)')
      .run(record.owner, record.name, JSON.stringify(record.definition), record.created);
    return result.changes === 1;
  }

  find(owner: string, name: string): FunctionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM functions WHERE owner = ? AND name = ?').get(owner, name) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(owner?: string): FunctionRecord[] {
    const rows = (owner === undefined ? this.db.prepare('SELECT * FROM functions ORDER BY owner, name').all() : this.db.prepare('SELECT * FROM functions WHERE owner = ? ORDER BY name').all(owner)) as Row[];
    return rows.map(fromRow);
  }

  delete(owner: string, name: string): boolean {
    return this.db.prepare('DELETE FROM functions WHERE owner = ? AND name = ?').run(owner, name).changes === 1;
  }
}
