// ESLint: the rules that catch bugs (typescript-eslint's recommended set, without type information so it
// stays fast); layout is Prettier's job (see .prettierrc.json), so no style rules here.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-test-*/',
      'data/',
      'drizzle/',
      '.tap/',
      'test-results/',
      'bench-results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },
  { files: ['public/**/*.js'], languageOptions: { globals: { ...globals.browser, htmx: 'readonly' } } },
  { files: ['test/**/*.ts', 'scripts/**/*.ts'], rules: { 'no-console': 'off' } },
)
