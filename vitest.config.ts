import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { DEFAULT_PG_BIN_DIR } from './src/cloud/pg/pg-dev.js';

/**
 * Two projects: `default` is every test, the authority on SQLite; `pg` runs the authority suite again with
 * the authority on PostgreSQL (one parameterized suite, not a copy: test/support/authority-store.ts). Tests
 * of one store's own files (SQLite migrations, test/cloud/pg) run once, in `default`. The `pg` project runs
 * where PostgreSQL 15 is installed, or when AUTHORITY_STORES names it.
 */
const AUTHORITY_SUITE = ['test/cloud/*.test.ts', 'test/qr/qr-unbind.integration.test.ts'];
// SQLite's own files: its migrations, its file-level checks (read-only handle, crash of its one writer).
const ONE_STORE_ONLY = [
  'test/cloud/migrations.test.ts',
  'test/cloud/migration-*.test.ts',
  'test/cloud/secret-box.test.ts',
  'test/cloud/auth-flood.test.ts',
  'test/cloud/read-only-routes.test.ts',
  'test/cloud/crash-replay.test.ts',
  'test/cloud/checkpointer.test.ts', // the SQLite store's WAL only
];
// Both stores where PostgreSQL is installed (.ci/run installs it); AUTHORITY_STORES=sqlite or =sqlite,pg to choose.
const stores = (process.env.AUTHORITY_STORES ?? (existsSync(`${DEFAULT_PG_BIN_DIR}/initdb`) ? 'sqlite,pg' : 'sqlite')).split(',');

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
