/**
 * Jest runs the TypeScript sources directly through ts-jest, file by file without type information
 * (tsconfig.jest.json: isolatedModules): the type check of the same files is `npx tsc -p
 * tsconfig.json`, which npm test runs first and which fails the run. Type-checking again in ts-jest
 * took seconds per file whenever its cache was cold (a change to a shared module invalidates every
 * file that imports it).
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The cluster suite runs on its own (npm run test:cluster; jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/cluster/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/request-contexts.ts'],
  testTimeout: 60000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: { warnOnly: false } }] },
};
