import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createPgPool } from '../../src/cloud/pg/pg-pool.js';

/**
 * Which store the authority suite runs on: one suite, two stores (issue 10). The vitest project `pg`
 * (vitest.config.ts) sets AUTHORITY_STORE=pg and starts one throwaway PostgreSQL for the run
 * (pg-global-setup.ts); each authority then gets a database of its own. The default is SQLite, a file in a
 * temp dir. Tests start the real authority through startHarness (authority-harness.ts), which asks here.
 */
export type AuthorityStoreKind = 'sqlite' | 'pg';

export const AUTHORITY_STORE: AuthorityStoreKind = process.env.AUTHORITY_STORE === 'pg' ? 'pg' : 'sqlite';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The admin URL (database `postgres`) of the run's throwaway PostgreSQL, in the `pg` project. */
    pgAdminUrl: string;
  }
}

export interface FreshStore {
  kind: AuthorityStoreKind;
  /** What `unbind authority --db` takes: a file path, or a postgres:// URL. */
  db: string;
  /** Where the master key file goes: beside the node, never in the database. */
  keyFile: string;
  /** Removes the temp dir and, on PostgreSQL, drops the database. */
  drop(): Promise<void>;
}

let n = 0;

/** An empty store for one authority (it migrates it when it starts). */
export async function freshAuthorityStore(kind: AuthorityStoreKind = AUTHORITY_STORE): Promise<FreshStore> {
  const dir = mkdtempSync(join(tmpdir(), 'authority-'));
  const keyFile = join(dir, 'authority.key');
  if (kind === 'sqlite') {
    return { kind, db: join(dir, 'authority.db'), keyFile, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('AUTHORITY_STORE=pg needs the vitest project `pg` (its globalSetup starts PostgreSQL)');
  const name = `a${process.pid}_${++n}_${Date.now() % 1e6}`;
  const admin = createPgPool(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    db: url.toString(),
    keyFile,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
      const a = createPgPool(adminUrl, { max: 1 });
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
