import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'data',
      '.cache',
      'coverage',
      'src/**/views/assets/*.js',
      'src/platform/views/assets/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // SQL stays in store.ts files (and the platform's own data code).
    files: ['src/modules/**/*.ts'],
    ignores: ['src/modules/**/store.ts', 'src/modules/**/schema.ts', 'src/modules/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', message: 'Database access belongs in the module store.ts.' },
            { name: 'pg', message: 'Database access belongs in the module store.ts.' },
            { name: '@electric-sql/pglite', message: 'Database access belongs in the module store.ts.' },
          ],
        },
      ],
    },
  },
  {
    // The domain rules know nothing of HTTP.
    files: ['src/modules/**/service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'fastify', message: 'service.ts holds domain rules; HTTP belongs in routes.ts.' },
            { name: 'kysely', message: 'Database access belongs in the module store.ts.' },
            { name: 'pg', message: 'Database access belongs in the module store.ts.' },
          ],
        },
      ],
    },
  },
);
