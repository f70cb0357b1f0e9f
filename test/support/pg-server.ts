import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createPgPool, type Pool } from '../../src/cloud/pg/pg-pool.js';
import { pgDevUrl, startPgDev, stopPgDev } from '../../src/cloud/pg/pg-dev.js';
import { migratePg } from '../../src/cloud/pg/pg-migrations.js';
import { PG_AUTHORITY_SCHEMA } from '../../src/cloud/pg/migrations/index.js';

/**
 * One throwaway PostgreSQL per test file (real server, 127.0.0.1 of the test's netns, fsync off: a crash
 * of the test machine may lose its data, which is thrown away anyway), and a fresh database per test.
 */
export interface TestPg {
  dir: string;
  /** A new empty database, or one migrated to `version` (default: the latest schema). */
  freshDatabase(version?: number): Promise<string>;
  /** A pool the file's afterAll closes. */
  pool(url: string, max?: number, applicationName?: string): Pool;
}

export function useTestPg(): () => TestPg {
  let t: TestPg | null = null;
  let dir = '';
  const pools: Pool[] = [];
  let n = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unbind-pg-'));
    await startPgDev({ dir, unsafeFast: true });
    const admin = createPgPool(pgDevUrl(dir, 'postgres'), { max: 1 });
    pools.push(admin);
    t = {
      dir,
      async freshDatabase(version = Infinity) {
        const name = `t${process.pid}_${++n}`;
        await admin.query(`CREATE DATABASE ${name}`);
        const url = pgDevUrl(dir, name);
        if (version > 0) {
          const p = createPgPool(url, { max: 1 });
          try {
            await migratePg(p, PG_AUTHORITY_SCHEMA, Number.isFinite(version) ? version : undefined);
          } finally {
            await p.end();
          }
        }
        return url;
      },
      pool(url, max = 10, applicationName) {
        const p = createPgPool(url, { max, ...(applicationName ? { applicationName } : {}) });
        pools.push(p);
        return p;
      },
    };
  });
  afterAll(async () => {
    for (const p of pools.reverse()) await p.end().catch(() => {});
    if (dir) {
      await stopPgDev({ dir });
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return () => {
    if (!t) throw new Error('the test PostgreSQL is not started (useTestPg() must run at the top of the file)');
    return t;
  };
}
