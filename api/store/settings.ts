import type { SqlDatabase } from './sql';

/** Small persisted values: generated secrets, this installation's instance id. */
export class SettingsRepository {
  constructor(private readonly db: SqlDatabase) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  /**
   * Returns the stored value, or stores and returns `create()` on first use. Replicas starting
   * together all end up with the first value stored (the insert does nothing when one exists).
   */
  async getOrCreate(key: string, create: () => string): Promise<string> {
    const existing = await this.get(key);
    if (existing !== undefined) return existing;
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, create()]);
    return (await this.get(key)) as string;
  }
}
