import { defineConfig } from 'vitest/config';

/**
 * Two projects: `default` is every test, the authority on SQLite; `pg` runs the authority suite again with
 * the authority on PostgreSQL (one parameterized suite, not a copy: test/support/authority-store.ts). Tests
 * of one store's own files (SQLite migrations, test/cloud/pg) run once, in `default`. The `pg` project runs
 * when AUTHORITY_STORES names it (until the authority is wired to PostgreSQL, issue 10 phase 2).
 */
const AUTHORITY_SUITE = ['test/cloud/*.test.ts', 'test/qr/qr-unbind.integration.test.ts'];
const ONE_STORE_ONLY = ['test/cloud/migrations.test.ts', 'test/cloud/migration-*.test.ts', 'test/cloud/secret-box.test.ts', 'test/cloud/auth-flood.test.ts'];
const stores = (process.env.AUTHORITY_STORES ?? 'sqlite').split(',');

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      ...(stores.includes('pg')
        ? [
            {
              extends: true as const,
              test: {
                name: 'pg',
                include: AUTHORITY_SUITE,
                exclude: ONE_STORE_ONLY,
                env: { AUTHORITY_STORE: 'pg' },
                globalSetup: ['test/support/pg-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
