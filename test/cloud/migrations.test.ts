import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { AUTHORITY_SCHEMA, MIGRATIONS, type Migration } from '../../src/cloud/migrations/index.js';
import { latestVersion, migrateTo } from '../../src/sqlite/index.js';

// Every table of migration 0001, listed by hand from the design's domain (§2 cloud, §8 quota).
const TABLES_0001 = [
  'accounts', 'api_nonces', 'bindings', 'consumers', 'device_logs', 'device_nonces', 'devices', 'meta',
  'partner_grants', 'products', 'quota_tickets', 'quota_usage', 'role_products', 'roles', 'shares',
  'space_members', 'spaces', 'token_uses', 'tokens',
];

// The newest migration: tests of the runner add theirs after it.
const LATEST = latestVersion(AUTHORITY_SCHEMA);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authority-migrations-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tablesOf(db: BetterSqlite3.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map(
    (r) => r.name,
  );
}
function schemaOf(db: BetterSqlite3.Database): string[] {
  return (db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as Array<{ type: string; name: string; sql: string | null }>).map(
    (r) => `${r.type} ${r.name} ${r.sql ?? ''}`,
  );
}

describe('authority migrations', () => {
  it('given an empty file, when the authority opens it, then the migrations create every table and set user_version to the latest', () => {
    const path = join(dir, 'authority.db');
    const db = openAuthorityDb(path);
    try {
      expect(tablesOf(db)).toEqual(TABLES_0001);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(LATEST).toBe(2);
      expect(MIGRATIONS.map((m) => m.version)).toEqual([1, 2]);
    } finally {
      db.close();
    }
    expect(existsSync(path)).toBe(true);
  });

  it('given a migrated file, when it is opened again, then nothing changes (no-op) and the data is kept', () => {
    const path = join(dir, 'authority.db');
    const first = openAuthorityDb(path);
    first.prepare("INSERT INTO meta (key, value) VALUES ('install', 'bench-7')").run();
    const before = schemaOf(first);
    first.close();

    const again = openAuthorityDb(path);
    try {
      expect(schemaOf(again)).toEqual(before);
      expect(again.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(again.prepare("SELECT value FROM meta WHERE key = 'install'").get()).toEqual({ value: 'bench-7' });
    } finally {
      again.close();
    }
  });

  it('given a database written by a newer program (user_version 99), when opened, then it is refused with a clear error and left untouched', () => {
    const path = join(dir, 'future.db');
    const future = new BetterSqlite3(path);
    future.pragma('user_version = 99');
    future.exec('CREATE TABLE from_the_future (x)');
    future.close();

    expect(() => openAuthorityDb(path)).toThrow('database schema version 99 is newer than this program knows (2); upgrade the program');

    const check = new BetterSqlite3(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(99);
      expect(tablesOf(check)).toEqual(['from_the_future']);
    } finally {
      check.close();
    }
  });

  it('given the authority store, then it runs in WAL mode with foreign keys on', () => {
    const db = openAuthorityDb(join(dir, 'authority.db'));
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(() =>
        db.prepare("INSERT INTO products (pid, name, category, owner_id, unbind_supported) VALUES ('p1', 'P', 'camera', 'nobody', 1)").run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  it('given a migration that fails half-way, when migrating, then the schema and user_version stay as they were', () => {
    const db = new BetterSqlite3(join(dir, 'partial.db'));
    try {
      const broken: Migration[] = [
        ...MIGRATIONS,
        {
          version: LATEST + 1,
          name: 'broken',
          up(d) {
            d.exec('CREATE TABLE half_done (x)');
            throw new Error('the next migration failed');
          },
        },
      ];
      expect(() => migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: broken }, LATEST + 1)).toThrow('the next migration failed');
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(tablesOf(db)).toEqual(TABLES_0001);
    } finally {
      db.close();
    }
  });

  it('given a target version, when migrating, then later migrations are not applied yet', () => {
    const db = new BetterSqlite3(join(dir, 'stepwise.db'));
    try {
      const steps: Migration[] = [...MIGRATIONS, { version: LATEST + 1, name: 'extra', up: (d) => d.exec('CREATE TABLE extra (x)') }];
      migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: steps }, LATEST);
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(tablesOf(db)).not.toContain('extra');
      migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: steps }, LATEST + 1);
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST + 1);
      expect(tablesOf(db)).toContain('extra');
    } finally {
      db.close();
    }
  });
});
