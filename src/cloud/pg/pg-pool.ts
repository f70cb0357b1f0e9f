import pg from 'pg';

/**
 * A node's connection pool to the authority's PostgreSQL. BIGINT (ms timestamps, log ids) is read as a
 * number, as the SQLite store gives it: every value we store stays far below 2^53. Per pool, not global,
 * so no other user of `pg` in the process is changed.
 */
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return (pg.types.getTypeParser as (o: number, f?: 'text' | 'binary') => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export interface PgPoolOptions {
  max?: number;
  /** Shown in pg_stat_activity: which node holds which connection. */
  applicationName?: string;
}

export function createPgPool(url: string, o: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, types, max: o.max ?? 10, application_name: o.applicationName ?? 'unbind-authority' });
  // An idle client that loses its server (a restart, a killed backend) must not crash the node: the pool drops it.
  pool.on('error', () => {});
  return pool;
}

export type { Pool, PoolClient } from 'pg';

/** Runs `work` in one transaction on one client: COMMIT when it returns, ROLLBACK when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query(begin);
    const out = await work(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}
