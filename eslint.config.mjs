// ESLint (flat config): typescript-eslint's type-checked recommended rules on the TypeScript sources
// (types from tsconfig.json through the project service), ESLint's recommended rules on the CommonJS
// scripts, the dashboard's sources (ui/) with browser globals. `npm run lint`; scripts/test.sh runs it before the suites.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.run/', 'data/', 'coverage/', 'bench/results/', 'ui/dist/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: dirname(fileURLToPath(import.meta.url)) },
    },
    rules: {
      // Input validation here rejects control characters on purpose (/[\x00-\x1f]/): that is the check.
      'no-control-regex': 'off',
      // `async` without `await` is deliberate: it turns a synchronous throw into a rejection (health
      // checks, implementations of Promise-returning ports).
      '@typescript-eslint/require-await': 'off',
      // Express error handlers must take four parameters; `_name` marks one unused, as tsc's noUnusedParameters.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Errors from callback APIs arrive typed any/unknown; rejecting with them passes them through
      // (the same allowance only-throw-error makes by default).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // supertest's res.body and JSON.parse are `any`: tests read them and check them with expect.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The dashboard runs in the browser (types from ui/tsconfig.json, found by the project service).
    files: ['ui/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
);
