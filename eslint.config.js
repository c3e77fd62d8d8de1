import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/bot/**', '**/console/**'],
              message: 'core/ is platform-neutral: it never imports bot/ or console/.',
            },
          ],
        },
      ],
    },
  },
  {
    // A later block's no-restricted-imports replaces the one above for these files, so it repeats that rule.
    files: ['core/credits/**/*.ts', 'core/research/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/bot/**', '**/console/**'],
              message: 'core/ is platform-neutral: it never imports bot/ or console/.',
            },
            {
              group: ['**/jobs/**', '**/tasks/**'],
              message:
                'The ledger and the research know nothing of jobs or tasks (decision 103): move the shared word to core/platform.ts, core/research or core/credits.',
            },
          ],
        },
      ],
    },
  },
);
