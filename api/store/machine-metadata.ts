import type { Db } from './database';
import { nowIso } from './database';

/** One metadata edit: set `key` to `value`, or remove it (value null). */
export interface MetadataEdit {
  machineId: string;
  key: string;
  value: string | null;
}

/** Machine metadata edited through the fleet API, layered over what each satellite reports. */
export class MachineMetadataRepository {
  constructor(private readonly db: Db) {}

  /** The machine's edits, key → value (null: removed). */
  editsFor(machineId: string): Map<string, string | null> {
    const rows = this.db.prepare('SELECT key, value FROM machine_metadata WHERE machine_id = ?').all(machineId) as Array<{ key: string; value: string | null }>;
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  /** Stores every edit, all or none. */
  apply(edits: readonly MetadataEdit[]): void {
    const upsert = this.db.prepare(
      `INSERT INTO machine_metadata (machine_id, key, value, updated) VALUES (?, ?, ?, ?)
       ON CONFLICT (machine_id, key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
    );
    this.db.transaction(() => {
      for (const edit of edits) upsert.run(edit.machineId, edit.key, edit.value, nowIso());
    })();
  }
}
