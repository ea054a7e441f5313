/** The store's setting (api/config.ts): BOATLOAD_DATABASE_URL selects PostgreSQL, validated at start-up. */
import { loadApiConfig } from '../../api/config';

test('BOATLOAD_DATABASE_URL: unset or empty is the SQLite file; a postgres URL with a host, else start-up stops naming it', () => {
  const base = { BOATLOAD_FLEET_SOCKET: 'off', SATELLITE_SECRET: 'a-satellite-secret-of-enough-length' };
  expect(loadApiConfig(base).databaseUrl).toBeNull();
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: '' }).databaseUrl).toBeNull();
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: 'postgres://u:p@db:5432/boatload' }).databaseUrl).toBe('postgres://u:p@db:5432/boatload');
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: 'postgresql://u@db/boatload' }).databaseUrl).toBe('postgresql://u@db/boatload');
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: 'mysql://u:p@db/boatload' })).toThrow(/BOATLOAD_DATABASE_URL must be a postgres:\/\/ .*"mysql:"/);
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: 'db:5432' })).toThrow(/BOATLOAD_DATABASE_URL/);
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_URL: 'not a url' })).toThrow(/BOATLOAD_DATABASE_URL must be a postgres:\/\/user:password@host:port\/database URL/);
});

test('BOATLOAD_DATABASE_POOL_SIZE: 10 connections by default, 1 to 500, else start-up stops naming it', () => {
  const base = { BOATLOAD_FLEET_SOCKET: 'off', SATELLITE_SECRET: 'a-satellite-secret-of-enough-length', BOATLOAD_DATABASE_URL: 'postgres://u:p@db:5432/boatload' };
  expect(loadApiConfig(base).databasePoolSize).toBe(10);
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: '' }).databasePoolSize).toBe(10);
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: '3' }).databasePoolSize).toBe(3);
  expect(loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: '500' }).databasePoolSize).toBe(500);
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: '0' })).toThrow(/BOATLOAD_DATABASE_POOL_SIZE must be a whole number >= 1, got "0"/);
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: 'ten' })).toThrow(/BOATLOAD_DATABASE_POOL_SIZE must be a whole number >= 1/);
  expect(() => loadApiConfig({ ...base, BOATLOAD_DATABASE_POOL_SIZE: '501' })).toThrow(/BOATLOAD_DATABASE_POOL_SIZE must be at most 500 connections, got "501"/);
});
