// Lint (npm run lint): eslint's and typescript-eslint's recommended rules, without type information so it
// stays fast; `tsc --noEmit` does the type checking. Rules that fight the codebase's conventions are noted.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'data/**', '.run/**', 'bench-reports/**', '**/*.d.ts', 'test/fixtures/**'],
  }, // fixtures are web pages served to the browser
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Mocks, JSON fixtures and SDK edges need `any` now and then; tsc strict mode already guards the rest.
      '@typescript-eslint/no-explicit-any': 'off',
      // `cond ? a() : b()` as a statement is used on purpose in a few places.
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      // A `let x!: T` assigned once later, after a closure that reads it was created, cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
