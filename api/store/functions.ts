/** Functions in the store: one row per owner and name, the definition as JSON (both dialects). */
import type { SqlDatabase } from './sql';

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
  /** One container serves the invocations one at a time (absent in definitions stored before it). */
  reuse?: boolean;
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
  constructor(private readonly db: SqlDatabase) {}

  /** false when the owner has a function of that name already. */
  async insert(record: FunctionRecord): Promise<boolean> {
    const changes = await this.db.run('INSERT INTO functions (owner, name, definition, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [
      record.owner,
      record.name,
      JSON.stringify(record.definition),
      record.created,
    ]);
    return changes === 1;
  }

  async find(owner: string, name: string): Promise<FunctionRecord | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM functions WHERE owner = ? AND name = ?', [owner, name]);
    return row ? fromRow(row) : undefined;
  }

  async list(owner?: string): Promise<FunctionRecord[]> {
    const rows =
      owner === undefined
        ? await this.db.all<Row>('SELECT * FROM functions ORDER BY owner, name')
        : await this.db.all<Row>('SELECT * FROM functions WHERE owner = ? ORDER BY name', [owner]);
    return rows.map(fromRow);
  }

  async delete(owner: string, name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM functions WHERE owner = ? AND name = ?', [owner, name])) === 1;
  }
}
