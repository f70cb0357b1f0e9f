import type { Pool, PoolClient } from 'pg';

/**
 * Numbered migrations for a PostgreSQL store, the twin of src/sqlite's runner: one row per applied step in
 * `schema_version`, each step and its row in one transaction, and a database written by a newer program
 * refused untouched. Several nodes may start at once: an advisory lock makes one of them migrate, and
 * the others find the work done.
 */
export interface PgMigration {
  version: number;
  name: string;
  up(c: PoolClient): Promise<void>;
}

export interface PgSchema {
  /** Names the database in errors: `database schema version 42 is newer than this program knows (3)`. */
  label: string;
  migrations: readonly PgMigration[];
}

/** Any constant: it only has to be the same for every node of one store. */
const MIGRATION_LOCK = 0x756e_6264; // 'unbd'

export function latestPgVersion(schema: PgSchema): number {
  return schema.migrations.at(-1)?.version ?? 0;
}

export async function currentPgVersion(c: Pool | PoolClient): Promise<number> {
  // A query of pg_class under this statement's snapshot, not to_regclass: that looks the name up without a
  // lock and may answer from the backend's catalog cache, missing a table another node just committed.
  const { rows } = await c.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'schema_version' AND relnamespace = current_schema()::regnamespace) AS present`,
  );
  if (!rows[0]?.present) return 0;
  const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  return r.rows[0]?.v ?? 0;
}

function refuseNewer(schema: PgSchema, current: number): void {
  const newest = latestPgVersion(schema);
  if (current > newest) throw new Error(`${schema.label} version ${current} is newer than this program knows (${newest}); upgrade the program`);
}

/** Applies each migration above the database's version up to `target`, each in its own transaction. */
export async function migratePg(pool: Pool, schema: PgSchema, target: number = latestPgVersion(schema)): Promise<void> {
  refuseNewer(schema, await currentPgVersion(pool));
  for (const m of schema.migrations) {
    if (m.version > target) break;
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const current = await currentPgVersion(c);
      refuseNewer(schema, current);
      if (m.version > current) {
        await c.query(`CREATE TABLE IF NOT EXISTS schema_version (
          version     INTEGER PRIMARY KEY,
          name        TEXT NOT NULL,
          applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        )`);
        await m.up(c);
        await c.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }
}
