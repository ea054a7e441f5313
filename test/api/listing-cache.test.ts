import { ListingCache } from '../../api/containers/listing-cache';
import { openDatabase } from '../../api/store/database';
import { SettingsRepository } from '../../api/store/settings';
import { SqliteDatabase } from '../../api/store/sqlite-database';

describe('listing cache', () => {
  const db = new SqliteDatabase(openDatabase(':memory:'));
  const cache = new ListingCache(() => db.generation());
  const settings = new SettingsRepository(db);
  afterAll(() => db.close());

  it('renders once per store change and per key', async () => {
    let renders = 0;
    const render = async (): Promise<string> => `render ${++renders}`;
    const get = async (key: string): Promise<string> => (await cache.get(key, render)).toString();
    expect(await get('*')).toBe('render 1');
    expect(await get('*')).toBe('render 1');
    expect(await get('user:alice')).toBe('render 2');
    await settings.getOrCreate('listing-cache-test', () => 'x');
    expect(await get('*')).toBe('render 3');
    expect(await get('user:alice')).toBe('render 4');
    expect(await get('user:alice')).toBe('render 4');
  });
});
