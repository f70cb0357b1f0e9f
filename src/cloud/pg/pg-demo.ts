import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { Database } from 'better-sqlite3';
import { openAuthorityDb } from '../authority-database.js';
import { DEMO_ROWS_SQL, demoExportOf, seedDemo, type DemoExport, type DemoRows } from '../demo.js';
import type { SecretBox } from '../secret-box.js';
import { createAuthorityServices } from '../services.js';
import { inTransaction } from './pg-pool.js';

/**
 * `--demo` on PostgreSQL seeds the same world as on SQLite: it is made by the one seedDemo (demo.ts) in a
 * throwaway SQLite file, with this node's master key, and copied table by table in one transaction (keys and
 * secrets copied still sealed). Several nodes started with --demo at once: an advisory lock, and the
 * `demo_seeded` meta row, let the first seed and the others find it done.
 */
export const WORLD_TABLES = ['accounts', 'consumers', 'products', 'devices', 'bindings', 'shares', 'partner_grants', 'spaces', 'roles', 'role_products', 'space_members'] as const;
const DEMO_LOCK = 0x756e6264; // 'unbd'

export async function seedDemoPg(pool: Pool, box: SecretBox, clock: () => number): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [DEMO_LOCK]);
    if ((await c.query("SELECT 1 FROM meta WHERE key = 'demo_seeded'")).rowCount) return false;
    const dir = mkdtempSync(join(tmpdir(), 'unbind-demo-'));
    const db = openAuthorityDb(join(dir, 'demo.db'));
    try {
      seedDemo(createAuthorityServices({ db, box, timeZone: 'UTC', clock }));
      await copyWorld(db, c);
      const seeded = db.prepare("SELECT value FROM meta WHERE key = 'demo_seeded'").get() as { value: string };
      await c.query("INSERT INTO meta (key, value) VALUES ('demo_seeded', $1)", [seeded.value]);
      return true;
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The world of a SQLite authority store (accounts, registry, grants, roles; tokens and approved tickets
 * too) into a PostgreSQL one, in the caller's transaction; secrets stay sealed. For --demo and the bench.
 */
export async function copyWorld(db: Database, c: PoolClient, tables: readonly string[] = WORLD_TABLES): Promise<void> {
  for (const table of tables) {
    const rows = db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
    if (rows.length === 0) continue;
    // Identities are drawn by PostgreSQL (partner_grants.id): the copy names no id.
    const cols = Object.keys(rows[0]!).filter((k) => !(table === 'partner_grants' && k === 'id'));
    const per = Math.floor(30_000 / cols.length);
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const values: unknown[] = [];
      const tuples = chunk.map((r) => `(${cols.map((k) => `$${values.push(r[k] ?? null)}`).join(', ')})`);
      await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    }
  }
}

export async function exportDemoPg(pool: Pool, box: SecretBox, authorityUrl: string): Promise<DemoExport> {
  const read = async <K extends keyof DemoRows>(k: K): Promise<DemoRows[K]> => (await pool.query(DEMO_ROWS_SQL[k])).rows as DemoRows[K];
  return demoExportOf({ accounts: await read('accounts'), products: await read('products'), devices: await read('devices') }, box, authorityUrl);
}
