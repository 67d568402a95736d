// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettierRecommended from 'eslint-plugin-prettier/recommended';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/reports/**',
      '.nx/**',
      '.tools/**',
      '**/*.d.ts',
      'tools/templates/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        importX.createNodeResolver({
          conditionNames: ['@trellis/source', 'types', 'import', 'node', 'default'],
          extensions: ['.ts', '.mjs', '.js', '.json'],
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Import cycles between our own modules and packages.
      'import-x/no-cycle': ['error', { ignoreExternal: false, maxDepth: 8 }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@trellis/*/src', '@trellis/*/src/*', '**/packages/*/src/**', '../../packages/**'],
              message: 'Import a workspace package by its name, never from its src/ (the exports map is the contract).',
            },
            { group: ['**/apps/**', '@trellis-app/*'], message: 'Packages never import an app.' },
          ],
        },
      ],
    },
  },
  {
    // Server code: stdout belongs to the protocol on stdio.
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts', 'bench/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Formatting: Prettier (.prettierrc.json) runs as a lint rule, so lint fails on unformatted code.
  prettierRecommended,
);
