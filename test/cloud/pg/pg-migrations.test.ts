import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { openAuthorityDb } from '../../../src/cloud/authority-database.js';
import { FOLD_GAP_MS } from '../../../src/cloud/device-logs.js';
import { PG_AUTHORITY_SCHEMA, PG_MIGRATIONS } from '../../../src/cloud/pg/migrations/index.js';
import { currentPgVersion, latestPgVersion, migratePg, type PgMigration } from '../../../src/cloud/pg/pg-migrations.js';
import { useTestPg } from '../../support/pg-server.js';

/** The PostgreSQL store's migrations, as test/cloud/migrations.test.ts checks SQLite's. */
const testPg = useTestPg();

async function emptyDb(): Promise<Pool> {
  const pg = testPg();
  return pg.pool(await pg.freshDatabase(0), 4);
}
async function tablesOf(pool: Pool): Promise<string[]> {
  const r = await pool.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  return r.rows.map((x) => x.t);
}
async function columnsOf(pool: Pool): Promise<Record<string, string[]>> {
  const r = await pool.query<{ t: string; c: string }>(
    "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name",
  );
  const out: Record<string, string[]> = {};
  for (const { t, c } of r.rows) (out[t] ??= []).push(c);
  return out;
}

describe('PostgreSQL authority migrations', () => {
  it('given an empty database, when migrated, then it holds every table and column of the SQLite store, at the latest schema version', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    expect(await currentPgVersion(pool)).toBe(8);
    expect(latestPgVersion(PG_AUTHORITY_SCHEMA)).toBe(8);
    expect(PG_MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // One schema, two stores: the same tables with the same columns (the twin of every SQLite migration).
    const dir = mkdtempSync(join(tmpdir(), 'pg-parity-'));
    const sqlite = openAuthorityDb(join(dir, 'authority.db'));
    const expected: Record<string, string[]> = {};
    try {
      const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
      for (const { name } of tables) expected[name] = (sqlite.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY name`).all(name) as Array<{ name: string }>).map((c) => c.name);
    } finally {
      sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const actual = await columnsOf(pool);
    expect(actual.schema_version).toEqual(['applied_at', 'name', 'version']);
    delete actual.schema_version;
    expect(actual).toEqual(expected);
  });

  it('given a migrated database, when migrated again, then nothing changes and the data is kept', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    await pool.query("INSERT INTO meta (key, value) VALUES ('install', 'bench-7')");
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    expect((await pool.query('SELECT version, name FROM schema_version')).rows).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'unbind-decide' },
      { version: 3, name: 'folded-failures' },
      { version: 4, name: 'decided-answers' },
      { version: 5, name: 'cases' },
      { version: 6, name: 'ticket-decisions-serial-formats' },
      { version: 7, name: 'device-log-method' },
      { version: 8, name: 'unbind-decide-many' },
    ]);
    expect((await pool.query("SELECT value FROM meta WHERE key = 'install'")).rows).toEqual([{ value: 'bench-7' }]);
  });

  it('given a database written by a newer program (version 99), when migrated, then it is refused with a clear error and left untouched', async () => {
    const pool = await emptyDb();
    await pool.query("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO schema_version VALUES (99, 'future'); CREATE TABLE from_the_future (x int)");
    await expect(migratePg(pool, PG_AUTHORITY_SCHEMA)).rejects.toThrow('database schema version 99 is newer than this program knows (8); upgrade the program');
    expect(await tablesOf(pool)).toEqual(['from_the_future', 'schema_version']);
  });

  it('given a migration that fails half-way, when migrating, then its tables and its version row are rolled back', async () => {
    const pool = await emptyDb();
    const broken: PgMigration[] = [
      ...PG_MIGRATIONS,
      { version: 9, name: 'broken', up: async (c) => { await c.query('CREATE TABLE half_done (x int)'); throw new Error('migration 9 failed'); } },
    ];
    await expect(migratePg(pool, { ...PG_AUTHORITY_SCHEMA, migrations: broken })).rejects.toThrow('migration 9 failed');
    expect(await currentPgVersion(pool)).toBe(8);
    expect(await tablesOf(pool)).not.toContain('half_done');
  });

  it('given version 1 with a world in it, when migrated to 2, then the rows are kept and the new unbind function decides on them', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 1);
    expect(await currentPgVersion(pool)).toBe(1);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO consumers VALUES ('c', 'C', 'EU')");
    await pool.query("INSERT INTO products VALUES ('p', 'P', 'camera', 'a', true, NULL, NULL)");
    await pool.query("INSERT INTO devices VALUES ('dev-1', 'SN1', 'p', 'EU', '1.0', 'v1.x.y.z')");
    await pool.query("INSERT INTO bindings VALUES ('dev-1', 'c', 0)");
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 2, 'qr', 0, 9e12)");
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 2);
    expect(await currentPgVersion(pool)).toBe(2);
    const decided = await pool.query(
      "SELECT o_result, o_reason, o_token_id, o_exhausted FROM unbind_decide('dev-1', 'nonce-0001-abcdef', 1000, 'SN1', 'p', 'EU', 'tok1', 'EU', 'h', NULL, '2026-01-01', 100, 100)",
    );
    expect(decided.rows).toEqual([{ o_result: 'UNBOUND', o_reason: null, o_token_id: 'tok1', o_exhausted: false }]);
    expect((await pool.query('SELECT count(*)::int AS n FROM bindings')).rows).toEqual([{ n: 0 }]);
    expect((await pool.query('SELECT used FROM tokens')).rows).toEqual([{ used: 1 }]);
  });

  it('given version 2 with log rows, when migrated to 3, then each old row counts one request and repeated token-less failures fold', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 2);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO consumers VALUES ('c', 'C', 'EU')");
    await pool.query("INSERT INTO products VALUES ('p', 'P', 'camera', 'a', true, NULL, NULL)");
    await pool.query("INSERT INTO devices VALUES ('dev-1', 'SN1', 'p', 'EU', '1.0', 'v1.x.y.z')");
    await pool.query("INSERT INTO bindings VALUES ('dev-1', 'c', 0)");
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 2, 'qr', 0, 9e12)");
    await pool.query("INSERT INTO device_logs (at, dev_id, result, reason) VALUES (500, 'dev-1', 'FAILED', 'DEVICE_AUTH')");
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 3);
    expect(await currentPgVersion(pool)).toBe(3);
    expect((await pool.query('SELECT at, count, last_at FROM device_logs')).rows).toEqual([{ at: 500, count: 1, last_at: 500 }]);

    const decide = (nonce: string, now: number, tokenId: string | null) =>
      pool.query(`SELECT o_result, o_reason, o_log_id, o_at, o_count, o_last_at FROM unbind_decide('dev-1', $1, $2, 'SN1', 'p', 'EU', $3, 'EU', 'h', NULL, '2026-01-01', 100, 100)`, [nonce, now, tokenId]);
    // An unknown token twice: one row, two requests; the old DEVICE_AUTH row is another reason and stays.
    const first = (await decide('nonce-0001-abcdef', 1000, null)).rows[0];
    const second = (await decide('nonce-0002-abcdef', 2000, null)).rows[0];
    expect(first).toMatchObject({ o_result: 'FAILED', o_reason: 'TOKEN_INVALID', o_at: 1000, o_count: 1, o_last_at: 1000 });
    expect(second).toMatchObject({ o_reason: 'TOKEN_INVALID', o_log_id: first.o_log_id, o_at: 1000, o_count: 2, o_last_at: 2000 });
    // The gap is written into migration 0003: if SQLite's changes, PostgreSQL needs a migration too.
    expect(FOLD_GAP_MS).toBe(10 * 60_000);
    // A decision naming a token never folds; after it, the same failure long after starts a row of its own.
    expect((await decide('nonce-0003-abcdef', 3000, 'tok1')).rows[0]).toMatchObject({ o_result: 'UNBOUND', o_count: 1 });
    const late = (await decide('nonce-0004-abcdef', 2000 + 10 * 60_000 + 1, null)).rows[0];
    expect(late).toMatchObject({ o_reason: 'TOKEN_INVALID', o_count: 1 });
    expect(late.o_log_id).not.toBe(first.o_log_id);
    expect((await pool.query('SELECT reason, count FROM device_logs ORDER BY id')).rows).toEqual([
      { reason: 'DEVICE_AUTH', count: 1 },
      { reason: 'TOKEN_INVALID', count: 2 },
      { reason: null, count: 1 },
      { reason: 'TOKEN_INVALID', count: 1 },
    ]);
  });

  it('given version 3 with a spent place, when migrated to 4, then its decision is kept and a retry of the device is told it again', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 3);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO consumers VALUES ('c', 'C', 'EU')");
    await pool.query("INSERT INTO products VALUES ('p', 'P', 'camera', 'a', true, NULL, NULL)");
    await pool.query("INSERT INTO devices VALUES ('dev-1', 'SN1', 'p', 'EU', '1.0', 'v1.x.y.z'), ('dev-2', 'SN2', 'p', 'EU', '1.0', 'v1.x.y.z')");
    await pool.query("INSERT INTO bindings VALUES ('dev-1', 'c', 0), ('dev-2', 'c', 0)");
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 2, 'qr', 0, 9e12)");
    const decide = (dev: string, nonce: string, now: number) =>
      pool.query(`SELECT * FROM unbind_decide($1, $2, $3, 'SN1', 'p', 'EU', 'tok1', 'EU', 'h', NULL, '2026-01-01', 100, 100)`, [dev, nonce, now]);
    const before = (await decide('dev-1', 'nonce-0001-abcdef', 1000)).rows[0];
    expect(before).toMatchObject({ o_result: 'UNBOUND' });
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 4);
    expect((await pool.query('SELECT token_id, dev_id, result, log_id FROM decided_answers')).rows).toEqual([{ token_id: 'tok1', dev_id: 'dev-1', result: 'UNBOUND', log_id: before.o_log_id }]);
    // The retry of dev-1 is told its decision (the deciding row, no new one); dev-2 is decided and kept.
    expect((await decide('dev-1', 'nonce-0002-abcdef', 2000)).rows[0]).toMatchObject({ o_result: 'UNBOUND', o_replayed: true, o_log_id: before.o_log_id, o_at: 1000 });
    const two = (await decide('dev-2', 'nonce-0003-abcdef', 3000)).rows[0];
    expect(two).toMatchObject({ o_result: 'UNBOUND', o_replayed: false, o_exhausted: true });
    expect((await decide('dev-2', 'nonce-0004-abcdef', 4000)).rows[0]).toMatchObject({ o_result: 'UNBOUND', o_replayed: true, o_log_id: two.o_log_id, o_exhausted: true });
    expect((await pool.query('SELECT count(*)::int AS n FROM device_logs')).rows).toEqual([{ n: 2 }]);
    expect((await pool.query("SELECT used FROM tokens")).rows).toEqual([{ used: 2 }]);
    // Bound again since: a different use of its spent place, refused.
    await pool.query("INSERT INTO bindings VALUES ('dev-1', 'c', 5000)");
    expect((await decide('dev-1', 'nonce-0005-abcdef', 5000)).rows[0]).toMatchObject({ o_result: 'FAILED', o_reason: 'TOKEN_REUSED', o_replayed: false });
  });

  it('given version 7 with a spent place and a bound device, when migrated to 8, then one call decides a group: each request its own answer, quota and places exact, written once', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 7);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO consumers VALUES ('c', 'C', 'EU')");
    await pool.query("INSERT INTO products VALUES ('p', 'P', 'camera', 'a', true, NULL, NULL)");
    for (const d of ['dev-1', 'dev-2', 'dev-3', 'dev-4']) {
      await pool.query("INSERT INTO devices VALUES ($1, $2, 'p', 'EU', '1.0', 'v1.x.y.z')", [d, `SN-${d}`]);
      await pool.query("INSERT INTO bindings VALUES ($1, 'c', 0)", [d]);
    }
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 5, 'qr', 0, 9e12)");
    const one = (dev: string, nonce: string) =>
      pool.query(`SELECT * FROM unbind_decide($1, $2, 1000, 'SN', 'p', 'EU', 'tok1', 'EU', 'h', NULL, '2026-01-01', 3, 100)`, [dev, nonce]);
    const before = (await one('dev-1', 'nonce-0001-abcdef')).rows[0];
    expect(before).toMatchObject({ o_result: 'UNBOUND' });
    await migratePg(pool, PG_AUTHORITY_SCHEMA, 8);
    expect(await currentPgVersion(pool)).toBe(8);
    // One call: dev-1 again (decided before the migration: told again), dev-2 twice (the second is told the
    // first's answer), dev-3 with a nonce it used (REPLAY) and with dev-2's (its own: fresh), dev-4 (the
    // account limit of 3 stops it), an unknown token (no token named).
    const reqs = [
      ['dev-1', 'nonce-0002-abcdef', 'tok1', 'h'],
      ['dev-2', 'nonce-0003-abcdef', 'tok1', 'h'],
      ['dev-2', 'nonce-0004-abcdef', 'tok1', 'h'],
      ['dev-3', 'nonce-0001-abcdef', 'tok1', 'h'],
      ['dev-3', 'nonce-0003-abcdef', 'tok1', 'h'],
      ['dev-4', 'nonce-0005-abcdef', 'tok1', 'h'],
      ['dev-4', 'nonce-0006-abcdef', 'nope', 'h'],
    ];
    await pool.query("INSERT INTO device_nonces VALUES ('dev-3', 'nonce-0001-abcdef', 0)");
    const col = (i: number) => reqs.map((r) => r[i]);
    const n = reqs.length;
    const { rows } = await pool.query(
      `SELECT o_idx, o_result, o_reason, o_log_id, o_replayed, o_exhausted, o_token_id FROM unbind_decide_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 2000, '2026-01-01', 3, 100) ORDER BY o_idx`,
      [col(0), col(1), col(0).map((d) => `SN-${d}`), Array(n).fill('p'), Array(n).fill('EU'), col(2), Array(n).fill('EU'), col(3), Array(n).fill(null), Array(n).fill('token')],
    );
    expect(rows.map((r) => [r.o_idx, r.o_result, r.o_reason, r.o_replayed])).toEqual([
      [1, 'UNBOUND', null, true],
      [2, 'UNBOUND', null, false],
      [3, 'UNBOUND', null, true],
      [4, 'FAILED', 'REPLAY', false],
      [5, 'UNBOUND', null, false],
      [6, 'FAILED', 'QUOTA_ACCOUNT', false],
      [7, 'FAILED', 'TOKEN_INVALID', false],
    ]);
    expect(rows[0].o_log_id).toBe(before.o_log_id);
    expect(rows[2].o_log_id).toBe(rows[1].o_log_id);
    expect((await pool.query('SELECT scope, used FROM quota_usage ORDER BY scope')).rows).toEqual([
      { scope: 'account', used: 3 },
      { scope: 'product', used: 3 },
    ]);
    expect((await pool.query('SELECT used FROM tokens')).rows).toEqual([{ used: 3 }]);
    expect((await pool.query('SELECT token_id, dev_id, result FROM decided_answers ORDER BY dev_id')).rows).toEqual([
      { token_id: 'tok1', dev_id: 'dev-1', result: 'UNBOUND' },
      { token_id: 'tok1', dev_id: 'dev-2', result: 'UNBOUND' },
      { token_id: 'tok1', dev_id: 'dev-3', result: 'UNBOUND' },
    ]);
    expect((await pool.query('SELECT count(*)::int AS n FROM token_uses')).rows).toEqual([{ n: 3 }]);
    expect((await pool.query('SELECT dev_id FROM bindings ORDER BY dev_id')).rows).toEqual([{ dev_id: 'dev-4' }]);
    // Each decision one log row; the unknown token's failure names no token.
    expect((await pool.query('SELECT dev_id, result, reason, token_id FROM device_logs WHERE id > $1 ORDER BY id', [before.o_log_id])).rows).toEqual([
      { dev_id: 'dev-2', result: 'UNBOUND', reason: null, token_id: 'tok1' },
      { dev_id: 'dev-3', result: 'UNBOUND', reason: null, token_id: 'tok1' },
      { dev_id: 'dev-4', result: 'FAILED', reason: 'QUOTA_ACCOUNT', token_id: 'tok1' },
      { dev_id: 'dev-3', result: 'FAILED', reason: 'REPLAY', token_id: null },
      { dev_id: 'dev-4', result: 'FAILED', reason: 'TOKEN_INVALID', token_id: null },
    ]);
  });

  it('given the tables analysed while empty, when groups are decided, then every lookup of unbind_decide_many and of its foreign-key checks is an index probe, never a table scan', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO consumers VALUES ('c', 'C', 'EU')");
    await pool.query("INSERT INTO products VALUES ('p', 'P', 'camera', 'a', true, NULL, NULL)");
    await pool.query("INSERT INTO devices SELECT 'dev-' || i, 'SN-' || i, 'p', 'EU', '1.0', 'v1.x.y.z' FROM generate_series(1, 40) i");
    await pool.query("INSERT INTO bindings SELECT 'dev-' || i, 'c', 0 FROM generate_series(1, 40) i");
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 30, 'qr', 0, 9e12), ('tok2', 'h', 'a', 'EU', 30, 'qr', 0, 9e12)");
    // As a fresh database in use may be: statistics saying the log, nonce and use tables are empty.
    await pool.query('ANALYZE');
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // The counts this backend has not reported yet (of this transaction, and of earlier ones not flushed).
      const scansNow = async (): Promise<Record<string, number>> =>
        Object.fromEntries(
          (
            await c.query(
              `SELECT relname, seq_scan FROM pg_stat_xact_user_tables
                WHERE relname IN ('device_logs', 'device_nonces', 'token_uses', 'decided_answers', 'tokens', 'bindings', 'shares', 'quota_usage') ORDER BY relname`,
            )
          ).rows.map((r) => [r.relname, Number(r.seq_scan)]),
        );
      const before = await scansNow();
      for (let g = 0; g < 4; g++) {
        const devs = Array.from({ length: 10 }, (_, i) => `dev-${g * 10 + i + 1}`);
        const n = devs.length;
        const { rows } = await c.query(
          `SELECT o_result FROM unbind_decide_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 2000, '2026-01-01', 100, 100)`,
          [devs, devs.map((d) => `nonce-${d}-abcdef`), devs.map((d) => `SN-${d}`), Array(n).fill('p'), Array(n).fill('EU'), devs.map((_, i) => (i % 2 ? 'tok1' : 'tok2')), Array(n).fill('EU'), Array(n).fill('h'), Array(n).fill(null), Array(n).fill('token')],
        );
        expect(rows.map((r) => r.o_result)).toEqual(Array(n).fill('UNBOUND'));
      }
      // The tables that grow with every unbind were never scanned by the four groups.
      const after = await scansNow();
      expect(Object.keys(after)).toHaveLength(8);
      expect(Object.entries(after).filter(([t, n]) => n !== (before[t] ?? 0))).toEqual([]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    expect((await pool.query('SELECT count(*)::int AS n FROM decided_answers')).rows).toEqual([{ n: 40 }]);
  });

  it('given three nodes starting at once on an empty database, then the schema is created once and every node starts', async () => {
    const pg = testPg();
    const url = await pg.freshDatabase(0);
    const pools = [pg.pool(url, 2), pg.pool(url, 2), pg.pool(url, 2)];
    await Promise.all(pools.map((p) => migratePg(p, PG_AUTHORITY_SCHEMA)));
    expect((await pools[0]!.query('SELECT version FROM schema_version')).rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }, { version: 6 }, { version: 7 }, { version: 8 }]);
  });

  it('given the PostgreSQL checks, then a token is never over capacity and a device log row has a known result', async () => {
    const pool = await emptyDb();
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    await pool.query("INSERT INTO accounts VALUES ('a', 'A', 'EU', 'cid', 'v1.x.y.z', 0)");
    await pool.query("INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ('tok1', 'h', 'a', 'EU', 1, 'qr', 0, 1)");
    await expect(pool.query("UPDATE tokens SET used = 2 WHERE id = 'tok1'")).rejects.toThrow(/check constraint/);
    await expect(pool.query("INSERT INTO device_logs (at, dev_id, result) VALUES (0, 'd', 'MAYBE')")).rejects.toThrow(/check constraint/);
    await expect(pool.query("INSERT INTO device_logs (id, at, dev_id, result) VALUES (1, 0, 'd', 'FAILED')")).rejects.toThrow(/cannot insert a non-DEFAULT value into column "id"/);
  });
});
