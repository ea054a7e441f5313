import { ListingCache } from '../../api/containers/listing-cache';
import { openDatabase } from '../../api/store/database';
import { storeGeneration } from '../../api/store/generation';
import { SettingsRepository } from '../../api/store/settings';

describe('listing cache', () => {
  const db = openDatabase(':memory:');
  const cache = new ListingCache(storeGeneration(db));
  const settings = new SettingsRepository(db);
  afterAll(() => db.close());

  it('renders once per store change and per key', () => {
    let renders = 0;
    const render = (): string => `render ${++renders}`;
    const get = (key: string): string => cache.get(key, render).toString();
    expect(get('*')).toBe('render 1');
    expect(get('*')).toBe('render 1');
    expect(get('user:alice')).toBe('render 2');
    settings.getOrCreate('listing-cache-test', () => 'x');
    expect(get('*')).toBe('render 3');
    expect(get('user:alice')).toBe('render 4');
    expect(get('user:alice')).toBe('render 4');
  });
});
