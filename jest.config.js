/**
 * Jest in ESM mode: TypeScript through ts-jest, transpile only (`npm run typecheck` type-checks).
 * Two projects: `unit` (pure modules under __tests__/unit: no test bed, no root, seconds) and
 * `integration` (the real registry, kustomize, helm, skopeo: `npm run setup` first).
 * `npm run test:unit` runs the first, `npm test` both.
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.check.json', diagnostics: false }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 120000,
};

export default {
  // A global option: jest does not read it from the projects.
  testTimeout: 120000,
  maxWorkers: 2,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/__tests__/unit/'],
      globalSetup: '<rootDir>/__tests__/support/global-setup.ts',
      globalTeardown: '<rootDir>/__tests__/support/global-teardown.ts',
    },
  ],
};
