import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CORE_IS_NEUTRAL = {
  group: ['**/bot/**', '**/console/**'],
  message: 'core/ is platform-neutral: it never imports bot/ or console/.',
};
const NO_TEST_SUPPORT = {
  group: ['**/test/**'],
  message: 'Production code under core/, bot/ and console/ never imports test support (test/).',
};
const TESTS = ['**/*.test.ts', '**/*.test.tsx'];
const CREDITS_AND_RESEARCH_STAND_ALONE = {
  group: ['**/jobs/**', '**/tasks/**'],
  message:
    'The ledger and the research know nothing of jobs or tasks (decision 103): move the shared word to core/platform.ts, core/research or core/credits.',
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'console/build/**', 'console/.cache/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        module: 'writable',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [CORE_IS_NEUTRAL] }],
    },
  },
  {
    // Production code never imports test support. The rule's options are replaced, not merged, by a later
    // block matching the same file, so core/'s pattern is repeated for core's production files.
    files: ['core/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [CORE_IS_NEUTRAL, NO_TEST_SUPPORT] }] },
  },
  {
    files: ['bot/**/*.{ts,tsx}', 'console/**/*.{ts,tsx}'],
    // console/test/ is the console's test support (harness, fixtures).
    ignores: [...TESTS, 'console/test/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_TEST_SUPPORT] }] },
  },
  {
    files: ['core/credits/**/*.ts', 'core/research/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [CORE_IS_NEUTRAL, CREDITS_AND_RESEARCH_STAND_ALONE] }],
    },
  },
  {
    files: ['core/credits/**/*.ts', 'core/research/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [CORE_IS_NEUTRAL, NO_TEST_SUPPORT, CREDITS_AND_RESEARCH_STAND_ALONE] },
      ],
    },
  },
);
