import { nowIso } from './database';
import type { SqlDatabase } from './sql';

/** One metadata edit: set `key` to `value`, or remove it (value null). */
export interface MetadataEdit {
  machineId: string;
  key: string;
  value: string | null;
}

/** Machine metadata edited through the fleet API, layered over what each satellite reports. */
export class MachineMetadataRepository {
  constructor(private readonly db: SqlDatabase) {}

  /** The machine's edits, key → value (null: removed). */
  async editsFor(machineId: string): Promise<Map<string, string | null>> {
    const rows = await this.db.all<{ key: string; value: string | null }>('SELECT key, value FROM machine_metadata WHERE machine_id = ?', [machineId]);
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  /** Stores every edit, all or none (one transaction). */
  async apply(edits: readonly MetadataEdit[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const edit of edits) {
        await tx.run(
          `INSERT INTO machine_metadata (machine_id, key, value, updated) VALUES (?, ?, ?, ?)
           ON CONFLICT (machine_id, key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
          [edit.machineId, edit.key, edit.value, nowIso()],
        );
      }
    });
  }
}
