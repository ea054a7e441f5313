/**
 * The cluster suite (`npm run test:cluster`): several real Docker engines in network namespaces, a
 * real Swarm, BoatLoad's swarm backend. Needs root; scripts/test-cluster.sh prepares the images.
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  testTimeout: 300000,
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }] },
};
