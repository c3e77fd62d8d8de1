// Native ESM (Agenda 6 is ESM-only); swc strips types without type-checking (`npm run typecheck` does that).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', tsx: true },
          transform: { react: { runtime: 'automatic' } },
        },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/{core,bot,console,test,scripts}/**/*.test.ts?(x)'],
  testPathIgnorePatterns: ['/node_modules/', '/.data/'],
  globalSetup: '<rootDir>/test/global-setup.mjs',
  setupFiles: ['<rootDir>/test/env-setup.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // A test that leaks a socket must not hang CI for its whole time budget; find the leak with
  // `npm run jest -- --detectOpenHandles <files>`.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.cjs'],
};
