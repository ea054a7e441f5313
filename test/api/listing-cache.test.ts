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
    const render = (): string => `render ${++renders}`;
    const get = (key: string): string => cache.get(key, render).toString();
    expect(get('*')).toBe('render 1');
    expect(get('*')).toBe('render 1');
    expect(get('user:alice')).toBe('render 2');
    await settings.getOrCreate('listing-cache-test', () => 'x');
    expect(get('*')).toBe('render 3');
    expect(get('user:alice')).toBe('render 4');
    expect(get('user:alice')).toBe('render 4');
  });
});
